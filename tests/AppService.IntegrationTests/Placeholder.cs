namespace AppService.IntegrationTests; public class Placeholder { [Fact] public void Builds() { } }
