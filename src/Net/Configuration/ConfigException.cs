namespace Mammoth.Net.Configuration;

/// <summary>
/// A mistake in a configuration file. <see cref="Exception.Message"/> is one sentence for the user that
/// names the file, the line and the setting where known, and says how to fix it, e.g.
/// <c>mcp_server.conf line 12: mcp_listen_port = 'abc' is not a valid integer; use a TCP port between 1 and 65535.</c>
/// Print the message alone: never the stack trace.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message)
        : base(message)
    {
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ConfigException(string fileName, int? line, string? setting, string problem, Exception? innerException = null)
        : base(Where(fileName, line) + ": " + problem, innerException)
    {
        FileName = fileName;
        Line = line;
        Setting = setting;
    }

    /// <summary>The configuration file, as it was named to the parser.</summary>
    public string? FileName { get; }

    /// <summary>The 1-based line, when the mistake is on a line (not for a missing setting).</summary>
    public int? Line { get; }

    /// <summary>The setting concerned, when there is one.</summary>
    public string? Setting { get; }

    internal static string Where(string fileName, int? line) =>
        line is { } number ? $"{fileName} line {number}" : fileName;
}
