using System.Text.Json;
using Mammoth.Log.Storage;

namespace Mammoth.Log.State;

/// <summary>
/// Saves and loads <see cref="McpState"/> crash-safely: write a temp file, fsync it, rename it over
/// <c>mcp_state.json</c>, fsync the folder. A crash leaves either the old or the new file, never a mix.
/// </summary>
public static class McpStateStore
{
    public const string FileName = "mcp_state.json";

    public static string PathIn(string txlogPath) => Path.Combine(txlogPath, FileName);

    /// <summary>Loads the state, or a fresh one when the file does not exist.</summary>
    public static McpState Load(string txlogPath)
    {
        string path = PathIn(txlogPath);
        if (!File.Exists(path))
            return new McpState();
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), McpStateJson.Default.McpState)
                ?? throw new JsonException("null document");
        }
        catch (JsonException ex)
        {
            throw new TxLogException($"MCP state file \"{path}\" is damaged ({ex.Message}); move it aside to start with every slave in DUMP.", ex);
        }
    }

    public static void Save(string txlogPath, McpState state)
    {
        state.SavedAt = DateTime.UtcNow;
        DurableFiles.WriteAtomically(PathIn(txlogPath), JsonSerializer.SerializeToUtf8Bytes(state, McpStateJson.Default.McpState));
    }

    /// <summary>A deep copy (the server saves a snapshot while it keeps changing its own).</summary>
    public static McpState Clone(McpState state) =>
        JsonSerializer.Deserialize(JsonSerializer.SerializeToUtf8Bytes(state, McpStateJson.Default.McpState), McpStateJson.Default.McpState)!;
}
