using System.Diagnostics;

namespace Mammoth.Catalog.Tests;

/// <summary>Runs one of the built tools (copied beside the tests by the project references) as a real process.</summary>
public static class Tool
{
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string tool, params string[] args) =>
        await RunWithInputAsync(tool, null, args);

    public static async Task<(int Code, string Stdout, string Stderr)> RunWithInputAsync(string tool, string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, tool + ".dll"));
        foreach (string a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        if (stdin is not null)
            await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(cts.Token);
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>psql from the PostgreSQL binaries, for comparing output.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> PsqlAsync(PgCluster cluster, string database, string script)
    {
        string file = Path.Combine(cluster.Root, "psql-" + Guid.NewGuid().ToString("N")[..8] + ".sql");
        await File.WriteAllTextAsync(file, script);
        var psi = new ProcessStartInfo(Path.Combine(PgCluster.BinDir, "psql"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[] { "-X", "-v", "ON_ERROR_STOP=1", "-h", cluster.SocketDir, "-p", cluster.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "postgres", "-d", database, "-f", file })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout, await stderr);
    }
}
