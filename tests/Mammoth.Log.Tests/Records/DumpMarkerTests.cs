using Mammoth.Log.Records;
using Xunit;

namespace Mammoth.Log.Tests;

public sealed class DumpMarkerTests
{
    [Theory]
    [InlineData(true, 0UL)]
    [InlineData(false, 0b1010UL)]
    public void Round_trips(bool all, ulong bits)
    {
        var m = new DumpMarker(7, new SlaveSet(bits, all), 12, 0x1_0000_0028);
        var b = new byte[DumpMarker.Size];
        m.Write(b);
        Assert.Equal(m, DumpMarker.Read(b));
        Assert.Equal(new byte[] { 0, 0, 0, 7 }, b[..4]);
    }

    [Fact]
    public void Rejects_a_wrong_length() => Assert.Throws<FormatException>(() => DumpMarker.Read(new byte[24]));
}
