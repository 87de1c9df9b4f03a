using System.Buffers;
using System.IO.Pipelines;
using Mammoth.Log.State;
using Mammoth.Net.Protocol;
using Xunit;

namespace Mammoth.Net.Tests.Protocol;

public class FrameTests
{
    /// <summary>One frame of every type, as bytes.</summary>
    internal static byte[] AllFrames()
    {
        var w = new ArrayBufferWriter<byte>();
        Messages.Write(w, new Hello(NodeRole.Slave, 3, true, 0xABCDEF, "node-ü"));
        Frame.Write(w, FrameType.TlsAccept, []);
        Messages.Write(w, new Challenge(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(), true));
        Messages.Write(w, new Auth(new byte[32], Enumerable.Repeat((byte)7, 32).ToArray()));
        Messages.Write(w, new Welcome(new byte[32], 5, Guid.Parse("01020304-0506-0708-090a-0b0c0d0e0f10"), 10, 20, 4, 0xFFFF_0000_1234, 2, 19, SlaveSyncState.DESYNC));
        Messages.Write(w, new ErrorMessage(ErrorCode.TooManySlaves, "too many"));
        Frame.Write(w, FrameType.Records, [1, 2, 3, 4]);
        Messages.Write(w, new Durable(3, 0x1_0000_0001, 9, 77));
        Messages.Write(w, new Subscribe(123, true));
        Messages.WriteAck(w, 456);
        Messages.WriteEcho(w, FrameType.Echo, 99);
        Messages.WriteEcho(w, FrameType.EchoReply, 100);
        Messages.Write(w, new SlaveStatus(55, true, "duplicate key value violates unique constraint"));
        Messages.Write(w, new StateChange(SlaveSyncState.DUMP, 1000, "recycled"));
        Messages.WriteText(w, FrameType.Refresh, "MCP REFRESH");
        Messages.Write(w, new DumpRequest(-1, "refresh"));
        Messages.WriteText(w, FrameType.Promote, "PROMOTE");
        Messages.WriteText(w, FrameType.Bye, "bye");
        return w.WrittenSpan.ToArray();
    }

    internal static void CheckAll(List<(FrameType Type, byte[] Payload)> frames)
    {
        Assert.Equal(18, frames.Count);
        int i = 0;
        ReadOnlySequence<byte> P() => new(frames[i++].Payload);
        Hello hello = Messages.ReadHello(P());
        Assert.Equal((NodeRole.Slave, (short)3, true, 0xABCDEFul, "node-ü"), (hello.Role, hello.SlaveNo, hello.WantsTls, hello.SystemId, hello.Name));
        Assert.Empty(frames[i++].Payload);
        Challenge c = Messages.ReadChallenge(P());
        Assert.Equal(31, c.ServerNonce[31]);
        Assert.True(c.TlsActive);
        Auth a = Messages.ReadAuth(P());
        Assert.Equal(7, a.Mac[0]);
        Welcome wl = Messages.ReadWelcome(P());
        Assert.Equal((5u, 10L, 20L, 4u, 0xFFFF_0000_1234ul, 2u, 19L, SlaveSyncState.DESYNC), (wl.Epoch, wl.FirstRecno, wl.LastRecno, wl.LastEpoch, wl.LastLsn, wl.LastSeq, wl.SlaveAck, wl.SlaveState));
        Assert.Equal(Guid.Parse("01020304-0506-0708-090a-0b0c0d0e0f10"), wl.McpId);
        Assert.Equal(new ErrorMessage(ErrorCode.TooManySlaves, "too many"), Messages.ReadError(P()));
        Assert.Equal([1, 2, 3, 4], frames[i++].Payload);
        Assert.Equal(new Durable(3, 0x1_0000_0001, 9, 77), Messages.ReadDurable(P()));
        Assert.Equal(new Subscribe(123, true), Messages.ReadSubscribe(P()));
        var both = new ArrayBufferWriter<byte>();
        Messages.Write(both, new Subscribe(9, false, NeedsDump: true));
        Assert.Equal(new Subscribe(9, false, NeedsDump: true), Messages.ReadSubscribe(new ReadOnlySequence<byte>(both.WrittenMemory[5..])));
        Assert.Equal(456, Messages.ReadAck(P()));
        Assert.Equal(99ul, Messages.ReadEcho(P()));
        Assert.Equal(100ul, Messages.ReadEcho(P()));
        Assert.Equal(new SlaveStatus(55, true, "duplicate key value violates unique constraint"), Messages.ReadSlaveStatus(P()));
        Assert.Equal(new StateChange(SlaveSyncState.DUMP, 1000, "recycled"), Messages.ReadState(P()));
        Assert.Equal("MCP REFRESH", Messages.ReadText(P(), "REFRESH"));
        Assert.Equal(new DumpRequest(-1, "refresh"), Messages.ReadDumpRequest(P()));
        Assert.Equal("PROMOTE", Messages.ReadText(P(), "PROMOTE"));
        Assert.Equal("bye", Messages.ReadText(P(), "BYE"));
        Assert.Equal(
            [FrameType.Hello, FrameType.TlsAccept, FrameType.Challenge, FrameType.Auth, FrameType.Welcome, FrameType.Error, FrameType.Records,
             FrameType.Durable, FrameType.Subscribe, FrameType.Ack, FrameType.Echo, FrameType.EchoReply, FrameType.SlaveStatus, FrameType.State,
             FrameType.Refresh, FrameType.DumpRequest, FrameType.Promote, FrameType.Bye],
            frames.Select(f => f.Type));
    }

    [Fact]
    public void Every_frame_type_round_trips()
    {
        var buffer = new ReadOnlySequence<byte>(AllFrames());
        var frames = new List<(FrameType, byte[])>();
        while (Frame.TryRead(ref buffer, 1 << 20, out FrameType t, out ReadOnlySequence<byte> p))
            frames.Add((t, p.ToArray()));
        Assert.Equal(0, buffer.Length);
        CheckAll(frames);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(100_000)]
    public async Task Fragmented_and_coalesced_reads_give_the_same_frames(int chunk)
    {
        byte[] stream = [.. AllFrames(), .. AllFrames(), .. AllFrames()];
        var pipe = new Pipe(new PipeOptions(minimumSegmentSize: 16));
        var rnd = new Random(chunk);
        Task writer = Task.Run(async () =>
        {
            for (int o = 0; o < stream.Length;)
            {
                int n = Math.Min(stream.Length - o, 1 + rnd.Next(chunk));
                await pipe.Writer.WriteAsync(stream.AsMemory(o, n));
                o += n;
            }
            await pipe.Writer.CompleteAsync();
        });
        var frames = new List<(FrameType, byte[])>();
        while (true)
        {
            ReadResult r = await pipe.Reader.ReadAsync();
            ReadOnlySequence<byte> buffer = r.Buffer;
            while (Frame.TryRead(ref buffer, 1 << 20, out FrameType t, out ReadOnlySequence<byte> p))
                frames.Add((t, p.ToArray()));
            pipe.Reader.AdvanceTo(buffer.Start, buffer.End);
            if (r.IsCompleted)
            {
                Assert.Equal(0, buffer.Length);
                break;
            }
        }
        await writer;
        for (int k = 0; k < 3; k++)
            CheckAll(frames.GetRange(k * 18, 18));
    }

    [Fact]
    public void Oversized_unknown_and_truncated_frames_are_protocol_errors()
    {
        // Oversized: refused from the header alone, before the payload arrives.
        byte[] big = new byte[Frame.HeaderSize];
        Frame.WriteHeader(big, FrameType.Records, 10_000_001);
        var seq = new ReadOnlySequence<byte>(big);
        var ex = Assert.Throws<ProtocolException>(() => Frame.TryRead(ref seq, 10_000_000, out _, out _));
        Assert.Contains("larger than the maximum", ex.Message);

        byte[] unknown = [0, 0, 0, 0, 99];
        seq = new ReadOnlySequence<byte>(unknown);
        Assert.Contains("unknown frame type 99", Assert.Throws<ProtocolException>(() => Frame.TryRead(ref seq, 100, out _, out _)).Message);

        // Truncated: not enough bytes is "need more", not an error, and consumes nothing.
        byte[] all = AllFrames();
        seq = new ReadOnlySequence<byte>(all.AsMemory(0, 20));
        long before = seq.Length;
        Assert.True(Frame.TryRead(ref seq, 1 << 20, out _, out _) || seq.Length == before);

        // A truncated control payload and trailing junk are errors naming the message.
        Assert.Contains("DURABLE frame is truncated", Assert.Throws<ProtocolException>(() => Messages.ReadDurable(new ReadOnlySequence<byte>(new byte[5]))).Message);
        Assert.Contains("trailing", Assert.Throws<ProtocolException>(() => Messages.ReadAck(new ReadOnlySequence<byte>(new byte[9]))).Message);
        Assert.Contains("bad HELLO magic", Assert.Throws<ProtocolException>(() => Messages.ReadHello(new ReadOnlySequence<byte>(new byte[30]))).Message);
    }

    [Fact]
    public void Authentication_macs_bind_both_nonces_and_the_claimed_identity()
    {
        byte[] s = Authentication.NewNonce(), c = Authentication.NewNonce();
        byte[] mac = Authentication.ClientMac("key", s, c, NodeRole.Slave, 1, 7);
        Assert.True(Authentication.Matches(mac, Authentication.ClientMac("key", s, c, NodeRole.Slave, 1, 7)));
        Assert.False(Authentication.Matches(mac, Authentication.ClientMac("other", s, c, NodeRole.Slave, 1, 7)));
        Assert.False(Authentication.Matches(mac, Authentication.ClientMac("key", s, c, NodeRole.Slave, 2, 7)));
        Assert.False(Authentication.Matches(mac, Authentication.ClientMac("key", s, c, NodeRole.Master, 1, 7)));
        Assert.False(Authentication.Matches(mac, Authentication.ClientMac("key", c, s, NodeRole.Slave, 1, 7)));
        // The server's proof is not a reflected client MAC.
        Assert.False(Authentication.Matches(mac, Authentication.ServerProof("key", s, c)));
    }
}
