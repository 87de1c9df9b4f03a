namespace Mammoth.Tools.TxLog;

internal static partial class TxLogCommands
{
    private static int Lookup(string[] args)
    {
        _ = args;
        throw new UsageException("lookup is not available yet.");
    }
}
