namespace Mammoth.Log.Index;

/// <summary>What <see cref="KeyIndex.Open"/> found on disk.</summary>
public enum KeyIndexRecovery
{
    /// <summary>No completed checkpoint existed; the index starts empty at recno 0.</summary>
    Created,

    /// <summary>The newest completed checkpoint was recovered.</summary>
    Recovered,

    /// <summary>
    /// The newest checkpoint could not be used and an older one was recovered instead;
    /// <see cref="KeyIndex.RecoveryMessage"/> says why.
    /// </summary>
    RecoveredOlder,

    /// <summary>
    /// Checkpoints exist but none could be recovered. The index answers nothing and refuses writes
    /// until <see cref="KeyIndex.Reset"/>; <see cref="KeyIndex.RecoveryMessage"/> says why.
    /// </summary>
    Unusable,
}
