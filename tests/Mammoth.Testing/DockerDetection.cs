using DotNet.Testcontainers.Configurations;

namespace Mammoth.Testing;

/// <summary>Whether a Docker engine answers, asked once per process and never throwing.</summary>
internal static class DockerDetection
{
    private static readonly Lazy<bool> s_answers = new(Probe);

    public static bool DockerAnswers() => s_answers.Value;

    private static bool Probe()
    {
        try
        {
            // Null when Testcontainers found no endpoint whose engine answered a ping.
            return TestcontainersSettings.OS.DockerEndpointAuthConfig != null;
        }
        catch (Exception)
        {
            // Its static initialisation may throw on odd Docker configurations; that means no Docker.
            return false;
        }
    }
}
