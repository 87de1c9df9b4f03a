using FASTER.core;

namespace Mammoth.Log.Index;

/// <summary>
/// FASTER callbacks for the key index: blind upserts and reads of a fixed-size <see cref="IndexValue"/>.
/// A struct, so the session's generic code calls these directly instead of through an interface.
/// RMW and delete are never issued; their callbacks refuse to do anything.
/// </summary>
/// <remarks>
/// In-place writes and concurrent reads of the 16-byte value are not atomic by themselves; the store
/// runs with <see cref="ConcurrencyControlMode.LockTable"/>, which latches the hash bucket shared for
/// a read and exclusive for an upsert, so a reader sees the old or the new value, never a mix.
/// </remarks>
internal readonly struct IndexFunctions : IFunctions<SpanByte, IndexValue, Empty, IndexValue, Empty>
{
    public bool SingleReader(ref SpanByte key, ref Empty input, ref IndexValue value, ref IndexValue dst, ref ReadInfo readInfo)
    {
        dst = value;
        return true;
    }

    public bool ConcurrentReader(ref SpanByte key, ref Empty input, ref IndexValue value, ref IndexValue dst, ref ReadInfo readInfo)
    {
        dst = value;
        return true;
    }

    public bool SingleWriter(ref SpanByte key, ref Empty input, ref IndexValue src, ref IndexValue dst, ref IndexValue output, ref UpsertInfo upsertInfo, WriteReason reason)
    {
        dst = src;
        return true;
    }

    public bool ConcurrentWriter(ref SpanByte key, ref Empty input, ref IndexValue src, ref IndexValue dst, ref IndexValue output, ref UpsertInfo upsertInfo)
    {
        dst = src;
        return true;
    }

    public void ReadCompletionCallback(ref SpanByte key, ref Empty input, ref IndexValue output, Empty ctx, Status status, RecordMetadata recordMetadata) { }
    public void PostSingleWriter(ref SpanByte key, ref Empty input, ref IndexValue src, ref IndexValue dst, ref IndexValue output, ref UpsertInfo upsertInfo, WriteReason reason) { }
    public bool NeedInitialUpdate(ref SpanByte key, ref Empty input, ref IndexValue output, ref RMWInfo rmwInfo) => false;
    public bool InitialUpdater(ref SpanByte key, ref Empty input, ref IndexValue value, ref IndexValue output, ref RMWInfo rmwInfo) => false;
    public void PostInitialUpdater(ref SpanByte key, ref Empty input, ref IndexValue value, ref IndexValue output, ref RMWInfo rmwInfo) { }
    public bool NeedCopyUpdate(ref SpanByte key, ref Empty input, ref IndexValue oldValue, ref IndexValue output, ref RMWInfo rmwInfo) => false;
    public bool CopyUpdater(ref SpanByte key, ref Empty input, ref IndexValue oldValue, ref IndexValue newValue, ref IndexValue output, ref RMWInfo rmwInfo) => false;
    public void PostCopyUpdater(ref SpanByte key, ref Empty input, ref IndexValue oldValue, ref IndexValue newValue, ref IndexValue output, ref RMWInfo rmwInfo) { }
    public bool InPlaceUpdater(ref SpanByte key, ref Empty input, ref IndexValue value, ref IndexValue output, ref RMWInfo rmwInfo) => false;
    public void RMWCompletionCallback(ref SpanByte key, ref Empty input, ref IndexValue output, Empty ctx, Status status, RecordMetadata recordMetadata) { }
    public bool SingleDeleter(ref SpanByte key, ref IndexValue value, ref DeleteInfo deleteInfo) => false;
    public void PostSingleDeleter(ref SpanByte key, ref DeleteInfo deleteInfo) { }
    public bool ConcurrentDeleter(ref SpanByte key, ref IndexValue value, ref DeleteInfo deleteInfo) => false;
    public void DisposeSingleWriter(ref SpanByte key, ref Empty input, ref IndexValue src, ref IndexValue dst, ref IndexValue output, ref UpsertInfo upsertInfo, WriteReason reason) { }
    public void DisposeCopyUpdater(ref SpanByte key, ref Empty input, ref IndexValue oldValue, ref IndexValue newValue, ref IndexValue output, ref RMWInfo rmwInfo) { }
    public void DisposeInitialUpdater(ref SpanByte key, ref Empty input, ref IndexValue value, ref IndexValue output, ref RMWInfo rmwInfo) { }
    public void DisposeSingleDeleter(ref SpanByte key, ref IndexValue value, ref DeleteInfo deleteInfo) { }
    public void DisposeDeserializedFromDisk(ref SpanByte key, ref IndexValue value) { }
    public void CheckpointCompletionCallback(int sessionID, string sessionName, CommitPoint commitPoint) { }
}
