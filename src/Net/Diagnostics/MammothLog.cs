using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Mammoth.Net.Diagnostics;

/// <summary>
/// The PostgreSQL-style server log of mcp_server and the node agent: one line per message,
/// <c>2026-11-25 23:59:01.123 UTC [4242] WARNING:  message</c>, appended to the <c>-l</c> file or to stderr.
/// </summary>
/// <remarks>
/// Thread-safe: one lock around the write, and each line is flushed before the lock is released, so
/// a crash loses at most the line being written. A log call never throws: a failed write is counted
/// in <see cref="DroppedLines"/> and forgotten. The level can be changed at any time (SIGHUP reload),
/// and <see cref="Reopen"/> starts a fresh file after logrotate has moved the old one away.
/// </remarks>
public sealed class MammothLog : IDisposable
{
    // Longest prefix: "yyyy-MM-dd HH:mm:ss.fff" (23) + " UTC [" (6) + pid (10) + "] " (2) + "COMERROR" (8) + ":  " (3).
    private const int MaxPrefixLength = 64;
    private const string TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff";

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly string _pidPart;
    private readonly bool _ownsWriter;
    private TextWriter? _writer;
    private volatile int _level;
    private long _droppedLines;

    /// <summary>
    /// Opens <paramref name="path"/> for appending, or writes to stderr when it is null.
    /// </summary>
    /// <exception cref="IOException">The file cannot be opened; the message is one sentence naming it.</exception>
    public MammothLog(string? path, PgLogLevel level = PgLogLevel.Log, TimeProvider? timeProvider = null)
    {
        Path = path;
        _time = timeProvider ?? TimeProvider.System;
        _level = (int)level;
        _pidPart = " UTC [" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "] ";
        if (path is null)
        {
            // stderr is not ours to close.
            _writer = new StreamWriter(Console.OpenStandardError(), new UTF8Encoding(false)) { AutoFlush = false };
            _ownsWriter = false;
        }
        else
        {
            _writer = OpenFile(path);
            _ownsWriter = true;
        }
    }

    /// <summary>Writes to <paramref name="writer"/> (tests); the caller keeps ownership of it.</summary>
    internal MammothLog(TextWriter writer, PgLogLevel level = PgLogLevel.Log, TimeProvider? timeProvider = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _level = (int)level;
        _pidPart = " UTC [" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "] ";
        _writer = writer;
        _ownsWriter = false;
    }

    /// <summary>The log file, or null when the log goes to stderr.</summary>
    public string? Path { get; }

    /// <summary>The least severe level that is written; may be changed at any time.</summary>
    public PgLogLevel Level
    {
        get => (PgLogLevel)_level;
        set => _level = (int)value;
    }

    /// <summary>Lines that could not be written (disk full, file closed under us).</summary>
    public long DroppedLines => Interlocked.Read(ref _droppedLines);

    /// <summary>Whether a message at <paramref name="level"/> would be written.</summary>
    public bool IsEnabled(PgLogLevel level) => (int)level >= _level;

    /// <summary>Writes one line if <paramref name="level"/> passes the filter.</summary>
    public void Write(PgLogLevel level, string? message)
    {
        if (IsEnabled(level))
        {
            WriteLine(level, message);
        }
    }

    /// <summary>
    /// Writes one line if <paramref name="level"/> passes the filter; the interpolated message is only
    /// formatted when it does, into a pooled buffer.
    /// </summary>
    public void Write(PgLogLevel level, [InterpolatedStringHandlerArgument("", "level")] ref MammothLogInterpolatedStringHandler message)
    {
        if (message.HasText)
        {
            WriteLine(level, message.Text);
        }
        message.Clear();
    }

    /// <summary>
    /// Closes the log file and opens it again by name (after logrotate moved it). On failure the old
    /// file stays in use, an ERROR line says why, and false is returned. Never throws.
    /// </summary>
    public bool Reopen()
    {
        if (Path is null)
        {
            return true;
        }
        StreamWriter fresh;
        try
        {
            fresh = OpenFile(Path);
        }
        catch (Exception ex)
        {
            // OpenFile wraps the cause in a sentence of its own; the cause alone fits this line.
            var reason = IoErrors.Describe(ex.InnerException ?? ex);
            Write(PgLogLevel.Error, $"could not reopen log file \"{Path}\": {reason}; still writing to the file opened before");
            return false;
        }
        TextWriter? old;
        lock (_lock)
        {
            old = _writer;
            if (old is not null)
            {
                _writer = fresh;
            }
        }
        try
        {
            // old is null only after Dispose: do not bring the log back to life.
            (old ?? fresh).Dispose();
        }
        catch (Exception)
        {
            // Closing the rotated file can fail only on a flush of nothing; the new file is already in use.
        }
        return old is not null;
    }

    public void Dispose()
    {
        TextWriter? writer;
        lock (_lock)
        {
            writer = _writer;
            _writer = null;
        }
        try
        {
            if (_ownsWriter)
            {
                writer?.Dispose();
            }
            else
            {
                writer?.Flush();
            }
        }
        catch (Exception)
        {
            // A log never throws, not even while closing.
        }
    }

    private void WriteLine(PgLogLevel level, ReadOnlySpan<char> text)
    {
        // The text ends the line; a trailing newline in the message would leave an empty line.
        text = text.TrimEnd("\r\n");
        Span<char> prefix = stackalloc char[MaxPrefixLength];
        try
        {
            lock (_lock)
            {
                var writer = _writer;
                if (writer is null)
                {
                    return;
                }
                // The clock is read under the lock so that the file's lines are in time order.
                var length = FormatPrefix(prefix, level);
                writer.Write(prefix[..length]);
                writer.Write(text);
                writer.Write('\n');
                writer.Flush();
            }
        }
        catch (Exception)
        {
            Interlocked.Increment(ref _droppedLines);
        }
    }

    private int FormatPrefix(Span<char> destination, PgLogLevel level)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        now.TryFormat(destination, out var length, TimestampFormat, CultureInfo.InvariantCulture);
        _pidPart.CopyTo(destination[length..]);
        length += _pidPart.Length;
        var name = level.Name();
        name.CopyTo(destination[length..]);
        length += name.Length;
        ":  ".CopyTo(destination[length..]);
        return length + 3;
    }

    private static StreamWriter OpenFile(string path)
    {
        try
        {
            var stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            return new StreamWriter(stream, new UTF8Encoding(false), bufferSize: 4096) { AutoFlush = false };
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot open log file \"{path}\": {IoErrors.Describe(ex)}.", ex);
        }
    }
}
