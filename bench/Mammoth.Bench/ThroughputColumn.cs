using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Parameters;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Mammoth.Bench;

/// <summary>
/// MB/s (10^6 bytes per second) and records/s from the mean time of one operation and the volume an
/// <see cref="IThroughputBenchmark"/> reports for its parameters, and throughput relative to the
/// baseline method of the same parameters (the reference), and allocated bytes per record.
/// </summary>
public sealed class ThroughputColumn : IColumn
{
    private enum Kind
    {
        Bytes,
        Records,
        Relative,
        AllocatedPerRecord,
    }

    public static readonly IColumn MegabytesPerSecond = new ThroughputColumn(Kind.Bytes, "MB/s", "Throughput: bytes moved per operation / mean time, in 10^6 bytes per second");
    public static readonly IColumn RecordsPerSecond = new ThroughputColumn(Kind.Records, "Records/s", "Records per operation / mean time");
    public static readonly IColumn VersusBaseline = new ThroughputColumn(Kind.Relative, "Tput/ref", "Throughput relative to the baseline method with the same parameters (baseline mean / this mean)");
    public static readonly IColumn AllocatedPerRecord = new ThroughputColumn(Kind.AllocatedPerRecord, "Alloc/rec", "Bytes allocated per record: the memory diagnoser's bytes per operation (every thread of the process) / records per operation");

    private readonly Kind _kind;

    private ThroughputColumn(Kind kind, string name, string legend)
    {
        _kind = kind;
        ColumnName = name;
        Legend = legend;
    }

    public string Id => nameof(ThroughputColumn) + "." + _kind;
    public string ColumnName { get; }
    public bool AlwaysShow => true;
    public ColumnCategory Category => ColumnCategory.Custom;
    public int PriorityInCategory => (int)_kind;
    public bool IsNumeric => true;
    public UnitType UnitType => UnitType.Dimensionless;
    public string Legend { get; }

    public bool IsAvailable(Summary summary) =>
        summary.BenchmarksCases.Any(b => typeof(IThroughputBenchmark).IsAssignableFrom(b.Descriptor.Type));

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkReport? report = summary[benchmarkCase];
        if (_kind == Kind.AllocatedPerRecord)
        {
            long? allocated = report?.GcStats.GetBytesAllocatedPerOperation(benchmarkCase);
            return allocated is { } a && Volume(benchmarkCase) is { Records: > 0 } per
                ? ((double)a / per.Records).ToString("N2", CultureInfo.InvariantCulture)
                : "-";
        }
        double? mean = report?.ResultStatistics?.Mean;
        if (mean is not > 0)
            return "-";
        if (_kind == Kind.Relative)
        {
            BenchmarkCase? baseline = summary.GetBaseline(summary.GetLogicalGroupKey(benchmarkCase));
            double? baseMean = baseline is null ? null : summary[baseline]?.ResultStatistics?.Mean;
            return baseMean is > 0 ? (baseMean.Value / mean.Value).ToString("P0", CultureInfo.InvariantCulture) : "-";
        }
        if (Volume(benchmarkCase) is not { } v)
            return "-";
        double seconds = mean.Value / 1e9;
        double rate = _kind == Kind.Bytes ? v.Bytes / seconds / 1e6 : v.Records / seconds;
        string format = _kind == Kind.Records ? "N0" : rate < 10 ? "N3" : "N1";
        return rate.ToString(format, CultureInfo.InvariantCulture);
    }

    /// <summary>Makes an instance of the benchmark class, sets its [Params] as BenchmarkDotNet would, and asks it.</summary>
    private static (long Bytes, long Records)? Volume(BenchmarkCase benchmarkCase)
    {
        Type type = benchmarkCase.Descriptor.Type;
        if (!typeof(IThroughputBenchmark).IsAssignableFrom(type) || Activator.CreateInstance(type) is not IThroughputBenchmark b)
            return null;
        foreach (ParameterInstance p in benchmarkCase.Parameters.Items)
        {
            const BindingFlags Flags = BindingFlags.Public | BindingFlags.Instance;
            if (type.GetProperty(p.Name, Flags) is { CanWrite: true } prop)
                prop.SetValue(b, p.Value);
            else
                type.GetField(p.Name, Flags)?.SetValue(b, p.Value);
        }
        return (b.BytesPerOperation, b.RecordsPerOperation);
    }

    public override string ToString() => ColumnName;
}
