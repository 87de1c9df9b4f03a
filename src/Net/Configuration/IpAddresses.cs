using System.Net;
using System.Net.Sockets;

namespace Mammoth.Net.Configuration;

internal static class IpAddresses
{
    /// <summary>
    /// An IPv4 address in dotted-quad form or an IPv6 address. Stricter than <see cref="IPAddress.TryParse(string, out IPAddress)"/>,
    /// which reads "10.1" as 10.0.0.1: in a config file such a value is a typo, not a wish.
    /// </summary>
    public static bool TryParse(string text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        if (!IPAddress.TryParse(text, out address))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetwork && text.Count(c => c == '.') != 3)
        {
            address = null;
            return false;
        }
        return true;
    }
}
