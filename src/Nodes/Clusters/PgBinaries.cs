using System.Diagnostics;

namespace Mammoth.Nodes.Clusters;

/// <summary>Finds the PostgreSQL server binaries (initdb, pg_ctl, postgres).</summary>
internal static class PgBinaries
{
    public const string EnvironmentVariable = "MAMMOTH_PG_BIN";

    public const string NotFoundMessage =
        "PostgreSQL server binaries not found; install them (apt-get install postgresql) or set MAMMOTH_PG_BIN.";

    /// <summary>
    /// MAMMOTH_PG_BIN if set, else the highest /usr/lib/postgresql/N/bin, else <c>pg_config --bindir</c>.
    /// </summary>
    public static string Locate() => Locate(Environment.GetEnvironmentVariable(EnvironmentVariable), "/usr/lib/postgresql", AskPgConfig);

    internal static string Locate(string? fromEnvironment, string debianRoot, Func<string?> askPgConfig)
    {
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            if (HasServerBinaries(fromEnvironment))
                return Path.GetFullPath(fromEnvironment);
            throw new LocalClusterException(
                $"{EnvironmentVariable}={fromEnvironment} does not hold initdb, pg_ctl and postgres; point it at a PostgreSQL bin directory.");
        }

        if (Directory.Exists(debianRoot))
        {
            var best = Directory.EnumerateDirectories(debianRoot)
                .Select(dir => (dir, version: ParseVersion(Path.GetFileName(dir))))
                .Where(x => x.version is not null && HasServerBinaries(Path.Combine(x.dir, "bin")))
                .OrderByDescending(x => x.version)
                .Select(x => Path.Combine(x.dir, "bin"))
                .FirstOrDefault();
            if (best is not null)
                return best;
        }

        var fromPgConfig = askPgConfig();
        if (fromPgConfig is not null && HasServerBinaries(fromPgConfig))
            return fromPgConfig;

        throw new LocalClusterException(NotFoundMessage);
    }

    private static bool HasServerBinaries(string dir) =>
        File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")) && File.Exists(Path.Combine(dir, "postgres"));

    private static Version? ParseVersion(string name) =>
        Version.TryParse(name.Contains('.', StringComparison.Ordinal) ? name : name + ".0", out var v) ? v : null;

    private static string? AskPgConfig()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("pg_config", "--bindir")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
                return null;
            string output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            return process.ExitCode == 0 && output.Length > 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // pg_config is not on PATH
        }
    }
}
