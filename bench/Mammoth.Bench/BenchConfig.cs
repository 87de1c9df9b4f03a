using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;

namespace Mammoth.Bench;

/// <summary>
/// The configuration every MammothFast benchmark runs with: memory diagnoser on, a short job, and
/// throughput columns for benchmarks that move a known number of bytes per operation.
/// </summary>
/// <remarks>
/// <para><b>Why this job.</b> The storage benchmarks make one operation move a large, fixed volume
/// (64 MiB of records for the batched cadences, 512 MiB for the reads), so one operation already takes
/// 0.1–1 s, far above the ~100 ms BenchmarkDotNet wants per iteration: one invocation per iteration
/// (<c>InvocationCount = 1</c>, <c>UnrollFactor = 1</c>) is enough, and it is what lets an
/// <c>[IterationSetup]</c> give every iteration fresh, preallocated files without ever being timed.
/// Pilot and overhead stages are pointless at that size and skipped.</para>
/// <para>One warm-up iteration (the JIT and the page cache settle, files are created the same way as
/// for the measured ones), then 5 measured iterations: enough for a mean with a confidence interval
/// while the whole Log suite stays under ~10 minutes on the 2-core development machine.
/// Benchmarks of small operations (the key index) should override the job with their own
/// <c>[SimpleJob]</c>; they still get the diagnoser and columns.</para>
/// </remarks>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        Add(DefaultConfig.Instance);
        AddJob(Job.Default
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithEvaluateOverhead(false)
            .AsDefault());
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(ThroughputColumn.MegabytesPerSecond, ThroughputColumn.RecordsPerSecond, ThroughputColumn.VersusBaseline, ThroughputColumn.AllocatedPerRecord);
        // The 2-core development machine is shared: building the generated project can take minutes.
        WithBuildTimeout(TimeSpan.FromMinutes(15));
        WithSummaryStyle(SummaryStyle.Default.WithMaxParameterColumnWidth(24));
    }
}
