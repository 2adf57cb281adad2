namespace AppService.Tests.Deploy;

/// <summary>Finds the checkout by walking up from the test binaries to the directory holding AppService.sln.</summary>
internal static class RepoRoot
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(Path.Combine(dir.FullName, "AppService.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"AppService.sln not found above {AppContext.BaseDirectory}");
    });

    /// <summary>The absolute path of a file in the checkout, given as path segments from the root.</summary>
    public static string File(params string[] parts) => Path.Combine([Root.Value, .. parts]);

    public static string ReadAllText(params string[] parts) => System.IO.File.ReadAllText(File(parts));
}
