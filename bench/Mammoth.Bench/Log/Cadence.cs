namespace Mammoth.Bench.Log;

/// <summary>How often appended bytes are made durable.</summary>
public enum Cadence
{
    /// <summary>A durable flush after every record (fsync-bound: a smaller volume per operation).</summary>
    EveryRecord,
    /// <summary>A durable flush every 64 KiB of records.</summary>
    Every64KiB,
    /// <summary>A durable flush every 1 MiB of records.</summary>
    Every1MiB,
}
