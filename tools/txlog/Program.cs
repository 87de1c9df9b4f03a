using Mammoth.Log.Storage;
using Mammoth.Tools;
using Mammoth.Tools.TxLog;

// txlog: inspect and exercise a MammothFast transaction log. Exit codes: 0 ok, 1 damage found, 2 usage error.
try
{
    return TxLogCommands.Run(args);
}
catch (UsageException ex)
{
    Console.Error.WriteLine($"txlog: {ex.Message}");
    return 2;
}
catch (TxLogException ex)
{
    Console.Error.WriteLine($"txlog: {ex.Message}");
    return ex is TxLogCorruptException ? 1 : 2;
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
{
    Console.Error.WriteLine($"txlog: {ex.Message}");
    return 2;
}
