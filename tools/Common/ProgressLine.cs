using System.Diagnostics;

namespace Mammoth.Tools;

/// <summary>A live progress line on stderr (only when stderr is a terminal, or when forced), at most a few updates a second.</summary>
internal sealed class ProgressLine(string label, bool enabled)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastDraw = -1000;
    private bool _drawn;

    public static bool TerminalAttached => !Console.IsErrorRedirected;

    public TimeSpan Elapsed => _clock.Elapsed;

    public void Report(long done, long total, string? detail = null, bool force = false)
    {
        if (!enabled)
            return;
        long now = _clock.ElapsedMilliseconds;
        if (!force && now - _lastDraw < 250)
            return;
        _lastDraw = now;
        double frac = total > 0 ? Math.Clamp((double)done / total, 0, 1) : 0;
        const int width = 30;
        int filled = (int)(frac * width);
        string bar = new string('#', filled) + new string('.', width - filled);
        Console.Error.Write($"\r{label} [{bar}] {frac * 100,5:0.0}% {done}/{total}{(detail is null ? "" : "  " + detail)}   ");
        _drawn = true;
    }

    public void Done()
    {
        if (_drawn)
            Console.Error.WriteLine();
        _drawn = false;
    }
}
