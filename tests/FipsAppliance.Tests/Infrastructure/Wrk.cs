using System.Globalization;
using System.Text.RegularExpressions;

namespace FipsAppliance.Tests.Infrastructure;

/// <summary>What a wrk run says: requests done, non-2xx/3xx answers, socket errors by kind.</summary>
public sealed partial record WrkResult(long Requests, long Non2xx, long Connect, long Read, long Write, long Timeout, string Output)
{
    public long SocketErrors => Connect + Read + Write + Timeout;

    public static WrkResult Parse(string output)
    {
        long Get(Regex r, int group = 1) => r.Match(output) is { Success: true } m ? long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        var errors = SocketErrorsLine().Match(output);
        long E(int g) => errors.Success ? long.Parse(errors.Groups[g].Value, CultureInfo.InvariantCulture) : 0;
        return new WrkResult(Get(RequestsLine()), Get(Non2xxLine()), E(1), E(2), E(3), E(4), output);
    }

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxLine();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsLine();
}

/// <summary>wrk (installed by build.sh), bounded in time: a few threads and connections, a fixed duration.</summary>
public static class Wrk
{
    public const string Binary = "/usr/bin/wrk";

    public static async Task<WrkResult> RunAsync(string url, TimeSpan duration, int threads = 2, int connections = 8,
        IEnumerable<string>? headers = null)
    {
        if (!File.Exists(Binary)) throw new InvalidOperationException($"{Binary} is missing: install wrk (build.sh deps does)");
        var args = new List<string> { $"-t{threads}", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--timeout", "10s" };
        foreach (var h in headers ?? []) { args.Add("-H"); args.Add(h); }
        args.Add(url);
        var result = await ProcessRunner.RunAsync(Binary, args, timeout: duration + TimeSpan.FromSeconds(30));
        return WrkResult.Parse(result.StdOut + result.StdErr);
    }
}

/// <summary>A process's resident memory and CPU time, from /proc.</summary>
public static class ProcStat
{
    /// <summary>VmRSS in KiB.</summary>
    public static long RssKiB(int pid)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>User + system CPU time so far.</summary>
    public static TimeSpan CpuTime(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // Fields after the command name in parentheses (which may hold spaces): utime is the 14th field, stime the 15th.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return TimeSpan.FromSeconds(ticks / 100.0);   // USER_HZ is 100 on Linux
    }

    /// <summary>Open file descriptors.</summary>
    public static int OpenFiles(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;
}
