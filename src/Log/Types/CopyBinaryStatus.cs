namespace Mammoth.Log.Types;

/// <summary>What a <see cref="CopyBinaryReader"/> step found.</summary>
public enum CopyBinaryStatus
{
    /// <summary>A complete tuple (or header) was read.</summary>
    Done,

    /// <summary>The trailer (field count -1) was read: the stream is over.</summary>
    End,

    /// <summary>The buffer ends inside the item; nothing was consumed. Call again with more bytes.</summary>
    NeedMoreData,

    /// <summary>The bytes are not binary COPY (bad signature, flags, counts or lengths).</summary>
    InvalidData,
}
