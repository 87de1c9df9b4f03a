namespace Mammoth.Bench;

/// <summary>
/// A benchmark whose every operation moves a known volume; <see cref="ThroughputColumn"/> turns the
/// mean time into MB/s and records/s. Both may depend on the benchmark's [Params], never on its method.
/// </summary>
public interface IThroughputBenchmark
{
    /// <summary>Bytes of records one operation appends or reads.</summary>
    long BytesPerOperation { get; }

    /// <summary>Records one operation appends or reads.</summary>
    long RecordsPerOperation { get; }
}
