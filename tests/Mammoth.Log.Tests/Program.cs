using Mammoth.Log.Tests.Index;

namespace Mammoth.Log.Tests;

/// <summary>
/// The test host loads this assembly and never calls Main. Tests that need a process they can
/// SIGKILL start the same assembly as a program: <c>dotnet Mammoth.Log.Tests.dll &lt;helper&gt; args…</c>.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == KeyIndexCrashWriter.HelperName)
            return KeyIndexCrashWriter.Run(args[1..]);
        Console.Error.WriteLine($"usage: Mammoth.Log.Tests {KeyIndexCrashWriter.HelperName} <directory>");
        return 2;
    }
}
