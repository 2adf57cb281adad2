namespace AppService.Tests; public class Placeholder { [Fact] public void Builds() { } }
