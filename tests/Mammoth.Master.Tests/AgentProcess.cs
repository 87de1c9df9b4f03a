using System.Diagnostics;

namespace Mammoth.Master.Tests;

/// <summary>mammoth-node as a child process (dotnet mammoth-node.dll -c node.conf -l agent.log), for SIGKILL tests.</summary>
public sealed class AgentProcess : IDisposable
{
    private readonly string _conf;
    private readonly string _log;
    private Process? _process;

    public AgentProcess(string conf, string log)
    {
        _conf = conf;
        _log = log;
    }

    public int Starts { get; private set; }

    public void Start()
    {
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mammoth-node.dll"));
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(_conf);
        psi.ArgumentList.Add("-l");
        psi.ArgumentList.Add(_log);
        _process = Process.Start(psi) ?? throw new InvalidOperationException("could not start mammoth-node");
        Starts++;
    }

    /// <summary>SIGKILL, then reap.</summary>
    public void Kill()
    {
        if (_process is null)
            return;
        if (!_process.HasExited)
            _process.Kill(entireProcessTree: false); // SIGKILL on Linux
        _process.WaitForExit();
        _process.Dispose();
        _process = null;
    }

    public string ReadLog() => File.Exists(_log) ? File.ReadAllText(_log) : "";

    public void Dispose() => Kill();
}
