namespace Mammoth.Net.Protocol;

/// <summary>The peer broke the protocol (or refused us): the connection ends with an ERROR frame carrying <see cref="Code"/>.</summary>
public sealed class ProtocolException(ErrorCode code, string message) : Exception(message)
{
    public ErrorCode Code { get; } = code;
}
