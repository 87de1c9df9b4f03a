namespace Mammoth.Log.Index;

/// <summary>
/// Where the latest change of a row lives in the txlog.
/// </summary>
/// <param name="Recno">Record number of the txlog record holding the change.</param>
/// <param name="Offset">Byte offset of the row's tuple inside that record's payload.</param>
/// <param name="Op">Change kind: 1 INSERT, 2 UPDATE, 3 UPDATE_KEY, 4 DELETE, 5 TRUNCATE.</param>
public readonly record struct KeyLocation(long Recno, uint Offset, byte Op);
