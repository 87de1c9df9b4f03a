using System.Globalization;

namespace Mammoth.Tools;

/// <summary>A user's mistake on the command line: printed as one sentence, exit code 2.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Minimal GNU-style argument parsing shared by the tools: positional arguments, <c>--name value</c>,
/// <c>--name=value</c>, <c>-x value</c> and boolean flags. Unknown options are errors.
/// </summary>
internal sealed class CommandLine
{
    private readonly Dictionary<string, string?> _options = new(StringComparer.Ordinal);
    private readonly string _tool;

    public List<string> Positional { get; } = [];

    private CommandLine(string tool) => _tool = tool;

    /// <param name="flags">Options without a value (e.g. "--rows", "--json", "-h").</param>
    /// <param name="valued">Options that take a value (e.g. "--from", "-c").</param>
    public static CommandLine Parse(string tool, IReadOnlyList<string> args, IEnumerable<string> flags, IEnumerable<string> valued)
    {
        var cl = new CommandLine(tool);
        var f = new HashSet<string>(flags, StringComparer.Ordinal);
        var v = new HashSet<string>(valued, StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string a = args[i];
            if (a == "--")
            {
                cl.Positional.AddRange(args.Skip(i + 1));
                break;
            }
            if (a.Length > 1 && a[0] == '-' && !IsNumber(a))
            {
                string name = a, value = "";
                bool inline = false;
                int eq = a.IndexOf('=', StringComparison.Ordinal);
                if (a.StartsWith("--", StringComparison.Ordinal) && eq > 0)
                {
                    name = a[..eq];
                    value = a[(eq + 1)..];
                    inline = true;
                }
                if (f.Contains(name))
                {
                    if (inline)
                        throw new UsageException($"option {name} takes no value; see `{tool} --help`.");
                    cl._options[name] = null;
                }
                else if (v.Contains(name))
                {
                    if (!inline)
                    {
                        if (i + 1 >= args.Count)
                            throw new UsageException($"option {name} needs a value; see `{tool} --help`.");
                        value = args[++i];
                    }
                    cl._options[name] = value;
                }
                else
                {
                    throw new UsageException($"unknown option {name}; see `{tool} --help`.");
                }
            }
            else
            {
                cl.Positional.Add(a);
            }
        }
        return cl;
    }

    private static bool IsNumber(string s) => long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _);

    public bool Has(string name) => _options.ContainsKey(name);

    public string? Get(string name) => _options.TryGetValue(name, out string? v) ? v : null;

    public string Require(string name, string what) =>
        Get(name) ?? throw new UsageException($"{_tool} needs {name} {what}; see `{_tool} --help`.");

    public long GetLong(string name, long defaultValue, long min = long.MinValue, long max = long.MaxValue)
    {
        string? s = Get(name);
        if (s is null)
            return defaultValue;
        if (!TryParseSize(s, out long n) || n < min || n > max)
        {
            string range = max == long.MaxValue ? $"at least {min}" : $"between {min} and {max}";
            throw new UsageException($"{name} {s} is not valid; give a whole number {range}.");
        }
        return n;
    }

    /// <summary>Accepts plain integers and sizes such as 64kB, 16MB, 1GB (1024-based, as PostgreSQL).</summary>
    public static bool TryParseSize(string s, out long value)
    {
        s = s.Trim();
        long mult = 1;
        string[] units = ["TB", "GB", "MB", "kB", "KB", "B", "k", "K", "M", "G"];
        foreach (string u in units)
        {
            if (s.EndsWith(u, StringComparison.Ordinal) && s.Length > u.Length)
            {
                mult = u[0] switch { 'T' => 1L << 40, 'G' => 1L << 30, 'M' => 1L << 20, 'k' or 'K' => 1L << 10, _ => 1 };
                s = s[..^u.Length].Trim();
                break;
            }
        }
        if (long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long n) && (n == 0 || Math.Abs(n) <= long.MaxValue / mult))
        {
            value = n * mult;
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>Fails when more positional arguments were given than the command takes.</summary>
    public void ExpectPositional(int count, string usage)
    {
        if (Positional.Count > count)
            throw new UsageException($"unexpected argument \"{Positional[count]}\"; usage: {usage}");
    }
}
