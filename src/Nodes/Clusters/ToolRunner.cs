using System.Diagnostics;
using System.Text;

namespace Mammoth.Nodes.Clusters;

/// <summary>
/// Runs a PostgreSQL tool to completion, as the <c>postgres</c> user (via runuser) when we are
/// root, because initdb and the server refuse to run as root.
/// </summary>
internal static class ToolRunner
{
    public readonly record struct Result(int ExitCode, string Output);

    public static async Task<Result> RunAsync(
        string executable, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout, CancellationToken ct)
    {
        var info = CreateStartInfo(executable, arguments, workingDirectory);
        using var process = new Process { StartInfo = info };
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => Append(output, e.Data);
        process.ErrorDataReceived += (_, e) => Append(output, e.Data);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new LocalClusterException($"Could not run {info.FileName}: {ex.Message}.", ex);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeoutCts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            if (ct.IsCancellationRequested)
                throw;
            throw new LocalClusterException(
                $"{Path.GetFileName(executable)} {string.Join(' ', arguments)} did not finish within {timeout.TotalSeconds:0} s. Output:\n{Snapshot(output)}");
        }
        // The parameterless wait drains the asynchronous output readers.
        process.WaitForExit();
        return new Result(process.ExitCode, Snapshot(output));
    }

    /// <summary>The same as <see cref="RunAsync"/>, synchronously, for the process-exit handler.</summary>
    public static int Run(string executable, IReadOnlyList<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var info = CreateStartInfo(executable, arguments, workingDirectory);
        info.RedirectStandardOutput = false;
        info.RedirectStandardError = false;
        try
        {
            using var process = Process.Start(info);
            if (process is null)
                return -1;
            if (!process.WaitForExit(timeout))
            {
                try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
                return -1;
            }
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }

    private static ProcessStartInfo CreateStartInfo(string executable, IReadOnlyList<string> arguments, string workingDirectory)
    {
        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
            // The tools chdir into their working directory; ours may not be readable by postgres.
            WorkingDirectory = workingDirectory,
        };
        if (Posix.IsRoot)
        {
            info.FileName = "runuser";
            info.ArgumentList.Add("-u");
            info.ArgumentList.Add("postgres");
            info.ArgumentList.Add("--");
            info.ArgumentList.Add(executable);
        }
        else
        {
            info.FileName = executable;
        }
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        // Messages in English whatever the caller's locale, so failures read the same everywhere.
        info.Environment["LC_MESSAGES"] = "C";
        info.Environment.Remove("PGDATA");
        info.Environment.Remove("PGPORT");
        info.Environment.Remove("PGHOST");
        return info;
    }

    private static void Append(StringBuilder output, string? line)
    {
        if (line is null)
            return;
        lock (output)
            output.AppendLine(line);
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
            return output.ToString();
    }
}
