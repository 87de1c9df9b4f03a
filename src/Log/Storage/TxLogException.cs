namespace Mammoth.Log.Storage;

/// <summary>A txlog problem an administrator must see: the message is one sentence naming the file and the fix.</summary>
public class TxLogException : Exception
{
    public TxLogException(string message) : base(message) { }
    public TxLogException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The folder is not a txlog (no TXLOG file), or does not exist.</summary>
public sealed class NotATxLogException(string message) : TxLogException(message);

/// <summary>Another process holds the txlog (its LOCK file is locked).</summary>
public sealed class TxLogLockedException(string message) : TxLogException(message);

/// <summary>Damage that recovery must not silently drop (a record in the middle of the log).</summary>
public sealed class TxLogCorruptException(string message, string segment, long offset, long recno) : TxLogException(message)
{
    public string Segment { get; } = segment;
    public long Offset { get; } = offset;
    public long Recno { get; } = recno;
}
