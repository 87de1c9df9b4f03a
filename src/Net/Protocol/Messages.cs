using System.Buffers;
using Mammoth.Log.State;

namespace Mammoth.Net.Protocol;

/// <summary>HELLO: the first frame of every connection (client → MCP).</summary>
public sealed record Hello(NodeRole Role, short SlaveNo, bool WantsTls, ulong SystemId, string Name, ushort Version = Frame.ProtocolVersion)
{
    public const uint Magic = 0x4D4D_5448; // "MMTH"
}

/// <summary>CHALLENGE: the MCP's nonce (MCP → client).</summary>
public sealed record Challenge(byte[] ServerNonce, bool TlsActive);

/// <summary>AUTH: the client's nonce and its proof of the authkey (client → MCP).</summary>
public sealed record Auth(byte[] ClientNonce, byte[] Mac);

/// <summary>
/// WELCOME (MCP → client): the MCP's own proof, the current epoch, and where to resume: for a master the
/// (epoch, commit LSN, seq) of the last record the MCP stored; for a slave its acknowledged recno and state.
/// </summary>
public sealed record Welcome(
    byte[] Proof,
    uint Epoch,
    Guid McpId,
    long FirstRecno,
    long LastRecno,
    uint LastEpoch,
    ulong LastLsn,
    uint LastSeq,
    long SlaveAck,
    SlaveSyncState SlaveState);

/// <summary>ERROR: a refusal or a protocol violation; the sender closes the connection after it.</summary>
public sealed record ErrorMessage(ErrorCode Code, string Message);

/// <summary>DURABLE (MCP → master): every record up to this one is on stable storage.</summary>
public readonly record struct Durable(uint Epoch, ulong CommitLsn, uint Seq, long Recno);

/// <summary>SUBSCRIBE (slave → MCP).</summary>
/// <param name="NeedsDump">The slave's rows came from another MCP queue (this one's txlog replaced it): it needs a full dump whatever its recno.</param>
public readonly record struct Subscribe(long NextRecno, bool BatchMode, bool NeedsDump = false);

/// <summary>SLAVE_STATUS (slave → MCP).</summary>
public sealed record SlaveStatus(long AppliedRecno, bool Halted, string? Error);

/// <summary>STATE (MCP → slave).</summary>
public sealed record StateChange(SlaveSyncState State, long FirstRecno, string Reason);

/// <summary>DUMP_REQUEST (MCP → master): slave -1 means every slave.</summary>
public sealed record DumpRequest(short SlaveNo, string Reason);

/// <summary>Encoding and decoding of every control frame. Records frames are raw records (see Mammoth.Log.Records).</summary>
public static class Messages
{
    /// <summary>Longest text field, in bytes.</summary>
    public const int MaxText = 4000;
    /// <summary>Largest control frame payload accepted during the handshake and for control frames.</summary>
    public const int MaxControlPayload = 8192;
    public const int NonceSize = 32;
    public const int MacSize = 32;

    // ---- writing: each builds the whole frame into the writer ------------------------------------

    public static void Write(IBufferWriter<byte> w, Hello m) => Emit(w, FrameType.Hello, m, static (ref WireWriter o, Hello m) =>
    {
        o.U32(Hello.Magic);
        o.U16(m.Version);
        o.U8((byte)m.Role);
        o.U8(m.WantsTls ? (byte)1 : (byte)0);
        o.I16(m.SlaveNo);
        o.U64(m.SystemId);
        o.Str(m.Name);
    });

    public static void Write(IBufferWriter<byte> w, Challenge m) => Emit(w, FrameType.Challenge, m, static (ref WireWriter o, Challenge m) =>
    {
        o.Bytes(m.ServerNonce);
        o.U8(m.TlsActive ? (byte)1 : (byte)0);
    });

    public static void Write(IBufferWriter<byte> w, Auth m) => Emit(w, FrameType.Auth, m, static (ref WireWriter o, Auth m) =>
    {
        o.Bytes(m.ClientNonce);
        o.Bytes(m.Mac);
    });

    public static void Write(IBufferWriter<byte> w, Welcome m) => Emit(w, FrameType.Welcome, m, static (ref WireWriter o, Welcome m) =>
    {
        o.Bytes(m.Proof);
        o.U32(m.Epoch);
        Span<byte> id = stackalloc byte[16];
        m.McpId.TryWriteBytes(id, bigEndian: true, out _);
        o.Bytes(id);
        o.I64(m.FirstRecno);
        o.I64(m.LastRecno);
        o.U32(m.LastEpoch);
        o.U64(m.LastLsn);
        o.U32(m.LastSeq);
        o.I64(m.SlaveAck);
        o.U8((byte)m.SlaveState);
    });

    public static void Write(IBufferWriter<byte> w, ErrorMessage m) => Emit(w, FrameType.Error, m, static (ref WireWriter o, ErrorMessage m) =>
    {
        o.U16((ushort)m.Code);
        o.Str(m.Message);
    });

    public static void Write(IBufferWriter<byte> w, Durable m) => Emit(w, FrameType.Durable, m, static (ref WireWriter o, Durable m) =>
    {
        o.U32(m.Epoch);
        o.U64(m.CommitLsn);
        o.U32(m.Seq);
        o.I64(m.Recno);
    });

    public static void Write(IBufferWriter<byte> w, Subscribe m) => Emit(w, FrameType.Subscribe, m, static (ref WireWriter o, Subscribe m) =>
    {
        o.I64(m.NextRecno);
        o.U8((byte)((m.BatchMode ? 1 : 0) | (m.NeedsDump ? 2 : 0)));
    });

    public static void WriteAck(IBufferWriter<byte> w, long recno) => Emit(w, FrameType.Ack, recno, static (ref WireWriter o, long r) => o.I64(r));

    public static void WriteEcho(IBufferWriter<byte> w, FrameType type, ulong token) => Emit(w, type, token, static (ref WireWriter o, ulong t) => o.U64(t));

    public static void Write(IBufferWriter<byte> w, SlaveStatus m) => Emit(w, FrameType.SlaveStatus, m, static (ref WireWriter o, SlaveStatus m) =>
    {
        o.I64(m.AppliedRecno);
        o.U8(m.Halted ? (byte)1 : (byte)0);
        o.Str(m.Error);
    });

    public static void Write(IBufferWriter<byte> w, StateChange m) => Emit(w, FrameType.State, m, static (ref WireWriter o, StateChange m) =>
    {
        o.U8((byte)m.State);
        o.I64(m.FirstRecno);
        o.Str(m.Reason);
    });

    public static void Write(IBufferWriter<byte> w, DumpRequest m) => Emit(w, FrameType.DumpRequest, m, static (ref WireWriter o, DumpRequest m) =>
    {
        o.I16(m.SlaveNo);
        o.Str(m.Reason);
    });

    /// <summary>A frame whose payload is one text field (REFRESH, BYE, PROMOTE).</summary>
    public static void WriteText(IBufferWriter<byte> w, FrameType type, string text) => Emit(w, type, text, static (ref WireWriter o, string s) => o.Str(s));

    private delegate void Body<T>(ref WireWriter o, T message);

    private static void Emit<T>(IBufferWriter<byte> w, FrameType type, T message, Body<T> body)
    {
        Span<byte> span = w.GetSpan(Frame.HeaderSize + MaxControlPayload);
        var o = new WireWriter(span[Frame.HeaderSize..]);
        body(ref o, message);
        Frame.WriteHeader(span, type, o.Length);
        w.Advance(Frame.HeaderSize + o.Length);
    }

    // ---- reading -----------------------------------------------------------------------------------

    public static Hello ReadHello(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, "HELLO"), "HELLO");
        if (r.U32() != Hello.Magic)
            throw new ProtocolException(ErrorCode.Protocol, "this is not a MammothFast client (bad HELLO magic)");
        ushort version = r.U16();
        byte role = r.U8();
        byte flags = r.U8();
        short slave = r.I16();
        ulong sysid = r.U64();
        string name = r.Str();
        r.End();
        if (role is < (byte)NodeRole.Master or > (byte)NodeRole.Admin)
            throw new ProtocolException(ErrorCode.Protocol, $"unknown role {role} in HELLO");
        return new Hello((NodeRole)role, slave, (flags & 1) != 0, sysid, name, version);
    }

    public static Challenge ReadChallenge(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, "CHALLENGE"), "CHALLENGE");
        var m = new Challenge(r.Bytes(NonceSize), r.U8() != 0);
        r.End();
        return m;
    }

    public static Auth ReadAuth(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, "AUTH"), "AUTH");
        var m = new Auth(r.Bytes(NonceSize), r.Bytes(MacSize));
        r.End();
        return m;
    }

    public static Welcome ReadWelcome(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, "WELCOME"), "WELCOME");
        byte[] proof = r.Bytes(MacSize);
        uint epoch = r.U32();
        var id = new Guid(r.Bytes(16), bigEndian: true);
        var m = new Welcome(proof, epoch, id, r.I64(), r.I64(), r.U32(), r.U64(), r.U32(), r.I64(), (SlaveSyncState)r.U8());
        r.End();
        return m;
    }

    public static ErrorMessage ReadError(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, "ERROR"), "ERROR");
        var m = new ErrorMessage((ErrorCode)r.U16(), r.Str());
        r.End();
        return m;
    }

    public static Durable ReadDurable(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[64];
        var r = new WireReader(WireReader.Flatten(p, scratch, "DURABLE"), "DURABLE");
        var m = new Durable(r.U32(), r.U64(), r.U32(), r.I64());
        r.End();
        return m;
    }

    public static Subscribe ReadSubscribe(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[64];
        var r = new WireReader(WireReader.Flatten(p, scratch, "SUBSCRIBE"), "SUBSCRIBE");
        long next = r.I64();
        byte flags = r.U8();
        var m = new Subscribe(next, (flags & 1) != 0, (flags & 2) != 0);
        r.End();
        return m;
    }

    public static long ReadAck(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[64];
        var r = new WireReader(WireReader.Flatten(p, scratch, "ACK"), "ACK");
        long v = r.I64();
        r.End();
        return v;
    }

    public static ulong ReadEcho(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[64];
        var r = new WireReader(WireReader.Flatten(p, scratch, "ECHO"), "ECHO");
        ulong v = r.U64();
        r.End();
        return v;
    }

    public static SlaveStatus ReadSlaveStatus(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, "SLAVE_STATUS"), "SLAVE_STATUS");
        var m = new SlaveStatus(r.I64(), r.U8() != 0, r.Str() is { Length: > 0 } e ? e : null);
        r.End();
        return m;
    }

    public static StateChange ReadState(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, "STATE"), "STATE");
        var m = new StateChange((SlaveSyncState)r.U8(), r.I64(), r.Str());
        r.End();
        return m;
    }

    public static DumpRequest ReadDumpRequest(in ReadOnlySequence<byte> p)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, "DUMP_REQUEST"), "DUMP_REQUEST");
        var m = new DumpRequest(r.I16(), r.Str());
        r.End();
        return m;
    }

    public static string ReadText(in ReadOnlySequence<byte> p, string frame)
    {
        Span<byte> scratch = stackalloc byte[MaxControlPayload];
        var r = new WireReader(WireReader.Flatten(p, scratch, frame), frame);
        string s = r.Str();
        r.End();
        return s;
    }
}
