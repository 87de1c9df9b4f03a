namespace Mammoth.Net.Protocol;

/// <summary>Frame types of the MCP protocol (docs/protocol.md). Values are on the wire: never renumber.</summary>
public enum FrameType : byte
{
    // Handshake
    Hello = 1,
    TlsAccept = 2,
    Challenge = 3,
    Auth = 4,
    Welcome = 5,
    Error = 6,

    // Streams
    /// <summary>One or more whole records, back to back (master → MCP, MCP → slave).</summary>
    Records = 16,
    /// <summary>MCP → master: records up to this (epoch, commit LSN, seq) are durable.</summary>
    Durable = 17,
    /// <summary>Slave → MCP: stream records from this recno on.</summary>
    Subscribe = 18,
    /// <summary>Slave → MCP: every record up to this recno is applied and committed.</summary>
    Ack = 19,
    Echo = 20,
    EchoReply = 21,
    /// <summary>Slave → MCP: applied position and, when halted, the apply error.</summary>
    SlaveStatus = 22,
    /// <summary>MCP → slave: your state changed (e.g. DUMP: your next record was recycled).</summary>
    State = 23,

    // Control
    /// <summary>Master → MCP: MCP REFRESH was issued; every slave gets a full dump.</summary>
    Refresh = 32,
    /// <summary>MCP → master: a dump is needed for a slave (or all slaves).</summary>
    DumpRequest = 33,
    Promote = 34,
    /// <summary>Either side: closing on purpose.</summary>
    Bye = 40,
}

/// <summary>The role a node declares in HELLO.</summary>
public enum NodeRole : byte
{
    Master = 1,
    Slave = 2,
    Admin = 3,
}

/// <summary>Codes of ERROR frames.</summary>
public enum ErrorCode : ushort
{
    Protocol = 1,
    AuthFailed = 2,
    AddressRefused = 3,
    UnknownSlave = 4,
    TooManySlaves = 5,
    SslRequired = 6,
    AlreadyConnected = 7,
    Fenced = 8,
    RecordInvalid = 9,
    ShuttingDown = 10,
    Version = 11,
    SslUnavailable = 12,
    NotAllowed = 13,
    Timeout = 14,
    Internal = 15,
}
