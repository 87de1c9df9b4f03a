namespace Mammoth.Net.Diagnostics;

/// <summary>Turns I/O exceptions into the short strerror-style phrases users know from PostgreSQL.</summary>
internal static class IoErrors
{
    public static string Describe(Exception exception) => exception switch
    {
        FileNotFoundException or DirectoryNotFoundException => "No such file or directory",
        UnauthorizedAccessException => "Permission denied",
        PathTooLongException => "File name too long",
        _ => exception.Message.TrimEnd('.', ' '),
    };
}
