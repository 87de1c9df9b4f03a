using System.Numerics;

namespace Mammoth.Log.Records;

/// <summary>
/// The slaves a section is meant for: every slave, or a set of slave numbers 0..63 (a bitmap).
/// Stamped by the master agent from the mammoth settings as of the transaction, so the MCP can filter
/// per slave without knowing the catalog.
/// </summary>
public readonly record struct SlaveSet(ulong Bits, bool IsAll)
{
    /// <summary>Highest slave number a set can hold.</summary>
    public const int MaxSlaveNumber = 63;

    public static SlaveSet All => new(0, true);
    public static SlaveSet None => new(0, false);

    public static SlaveSet Of(params ReadOnlySpan<int> slaves)
    {
        ulong bits = 0;
        foreach (int s in slaves)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(s);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(s, MaxSlaveNumber);
            bits |= 1UL << s;
        }
        return new SlaveSet(bits, false);
    }

    public bool Contains(int slave) => IsAll || ((uint)slave <= MaxSlaveNumber && (Bits & (1UL << slave)) != 0);

    public bool IsEmpty => !IsAll && Bits == 0;

    public int Count => IsAll ? -1 : BitOperations.PopCount(Bits);

    public override string ToString()
    {
        if (IsAll)
            return "all";
        if (Bits == 0)
            return "none";
        var parts = new List<string>();
        for (int i = 0; i <= MaxSlaveNumber; i++)
            if ((Bits & (1UL << i)) != 0)
                parts.Add(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return string.Join(',', parts);
    }
}
