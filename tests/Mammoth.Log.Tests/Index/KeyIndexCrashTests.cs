using System.Diagnostics;
using Mammoth.Log.Index;
using Xunit;

namespace Mammoth.Log.Tests.Index;

/// <summary>
/// Runs <see cref="KeyIndexCrashWriter"/> in a child process, SIGKILLs it at a random moment while
/// checkpoints run back to back, and checks what Open recovers. Three rounds on the same directory,
/// so later rounds also recover a store that was itself recovered and then crashed.
/// </summary>
public sealed class KeyIndexCrashTests
{
    [Fact]
    public async Task KillDuringCheckpoints_RecoversConsistentCheckpoint()
    {
        using var dir = new TempDirectory();
        var random = new Random(12345);
        long previous = 0;

        for (var round = 0; round < 3; round++)
        {
            var child = await RunUntilKilledAsync(dir.Path, checkpoints: 3, killAfterMs: random.Next(0, 150));
            Assert.True(child.LastCheckpoint > previous);
            Assert.Equal(previous, child.OpenedAt);
            Assert.Equal(round == 0 ? "Created" : "Recovered", child.OpenedRecovery);

            using var index = KeyIndex.Open(KeyIndexCrashWriter.Options(dir.Path));
            Assert.Equal(KeyIndexRecovery.Recovered, index.Recovery);
            var recovered = index.IndexedThroughRecno;
            // At least what the last completed checkpoint held, at most what was written.
            Assert.InRange(recovered, child.LastCheckpoint, child.UpperBound);
            Assert.True(recovered > previous, $"round {round}: no progress past recno {previous}");
            VerifyState(index, recovered, child.UpperBound);
            previous = recovered;
        }
    }

    /// <summary>
    /// Every key must map to its last write at or below <paramref name="recno"/>, or to a genuine later
    /// write of that key (the checkpoint may include rows the writer applied while it ran).
    /// </summary>
    private static void VerifyState(KeyIndex index, long recno, long upperBound)
    {
        var expected = new KeyLocation?[KeyIndexCrashWriter.Keys];
        for (long r = 1; r <= recno; r++)
        {
            for (var row = 0; row < KeyIndexCrashWriter.RowsPerRecord; row++)
                expected[KeyIndexCrashWriter.KeyIdOf(r, row)] = KeyIndexCrashWriter.LocationOf(r, row);
        }

        for (var keyId = 0; keyId < KeyIndexCrashWriter.Keys; keyId++)
        {
            var found = index.TryGet(KeyIndexCrashWriter.TableOf(keyId), KeyIndexCrashWriter.KeyBytes(keyId), out var actual);
            if (found && actual.Recno > recno)
            {
                Assert.True(actual.Recno <= upperBound, $"key {keyId} points at recno {actual.Recno}, beyond anything written ({upperBound})");
                var row = (int)(actual.Offset / 100);
                Assert.Equal(keyId, KeyIndexCrashWriter.KeyIdOf(actual.Recno, row));
                Assert.Equal(KeyIndexCrashWriter.LocationOf(actual.Recno, row), actual);
                continue;
            }
            Assert.Equal(expected[keyId], found ? actual : (KeyLocation?)null);
        }
    }

    private sealed record ChildRun(long OpenedAt, string OpenedRecovery, long LastCheckpoint, long UpperBound);

    private static async Task<ChildRun> RunUntilKilledAsync(string directory, int checkpoints, int killAfterMs)
    {
        var testAssembly = typeof(KeyIndexCrashWriter).Assembly.Location;
        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(testAssembly);
        start.ArgumentList.Add(KeyIndexCrashWriter.HelperName);
        start.ArgumentList.Add(directory);

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        long openedAt = -1, lastCheckpoint = 0, upperBound = 0;
        var openedRecovery = "";
        var seenCheckpoints = 0;
        var enoughCheckpoints = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Bounds are updated as lines arrive; after the kill the reader drains what was flushed.
        var reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                var parts = line.Split(' ');
                switch (parts[0])
                {
                    case "open":
                        openedAt = long.Parse(parts[1]);
                        openedRecovery = parts[2];
                        break;
                    case "upto":
                        upperBound = long.Parse(parts[1]);
                        break;
                    case "ckpt":
                        var atLeast = long.Parse(parts[1]);
                        lastCheckpoint = Math.Max(lastCheckpoint, atLeast);
                        // Count only checkpoints that hold new records; the first ones may find nothing to do.
                        if (atLeast > openedAt && ++seenCheckpoints >= checkpoints)
                            enoughCheckpoints.TrySetResult();
                        break;
                }
            }
        });

        var finished = await Task.WhenAny(enoughCheckpoints.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(90)));
        if (finished != enoughCheckpoints.Task)
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"The crash writer did not reach {checkpoints} checkpoints (exited: {process.HasExited}). stderr: {await stderr}");
        }

        await Task.Delay(killAfterMs);
        process.Kill(entireProcessTree: true); // SIGKILL on Unix
        await process.WaitForExitAsync();
        await reader;
        return new ChildRun(openedAt, openedRecovery, lastCheckpoint, upperBound);
    }

    /// <summary>The dotnet executable running the tests (DOTNET_HOST_PATH is set by the SDK under `dotnet test`).</summary>
    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
            return host;
        var processPath = Environment.ProcessPath;
        if (processPath is not null && Path.GetFileNameWithoutExtension(processPath) == "dotnet")
            return processPath;
        return "dotnet";
    }
}
