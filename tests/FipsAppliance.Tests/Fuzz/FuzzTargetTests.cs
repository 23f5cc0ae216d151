using System.Diagnostics;
using System.Text;
using FipsAppliance.Fuzz.Targets;
using FipsAppliance.Tests.Infrastructure;

namespace FipsAppliance.Tests.Fuzz;

/// <summary>
/// The afl++ targets of tests/Fuzz (`./build.sh fuzz`), each run here on a fixed-seed random
/// mutation of its seed corpus, plus every input a campaign once found (tests/Fuzz/regressions).
/// Same checks as under afl, no instrumentation; bounded in count and in time.
/// </summary>
public class FuzzTargetTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(10);

    private static readonly string[] Tokens =
    [
        "\r\n", "\r\n\r\n", "\r", "\n", " ", "\t", ":", ",", ";", "\0", "\x7f", "\xff", "GET ", "HEAD ", "CONNECT ", " HTTP/1.1", " HTTP/1.0",
        "HTTP/1.1 ", "204 ", "304 ", "101 ", "100 ", "Host: ", "Content-Length: ", "Transfer-Encoding: ", "chunked", "gzip, ",
        "Connection: ", "close", "keep-alive", "upgrade", "Upgrade: ", "Expect: 100-continue", "0\r\n\r\n", "ffffffffffffffff", ";e=\"v\"",
        "\"", "'", "\\", "\\x41", "${", "}", "[*]", "#", "global\n", "frontend f\n", "backend b\n", "defaults\n", "listen l\n",
        "resolvers r\n", "    bind ", "    server s ", "    server-template s 1-3 ", "127.0.0.1:9804", ":443", " ssl", " ca-file ",
        " verify none", " check", " inter ", " resolvers ", "    timeout client ", "5s", "99999999999d", "    default_backend ",
        "    use_backend b if { path_beg /a }", "    acl a path -i /x", "    mode tcp", "    mode http", "    option tcplog",
    ];

    [Test]
    [Arguments("request", 4000)]
    [Arguments("request-diff", 2000)]
    [Arguments("response", 4000)]
    [Arguments("chunked", 4000)]
    [Arguments("cfg", 400)]
    public async Task Target_holds_on_a_deterministic_random_run(string target, int cases)
    {
        var check = FuzzTargets.All[target];
        var seeds = Directory.GetFiles(Path.Combine(Repo.Root, "tests", "Fuzz", "corpus", CorpusOf(target)))
            .Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
        await Assert.That(seeds.Length).IsGreaterThan(0);

        var rng = new Random(20261130);
        var clock = Stopwatch.StartNew();
        int ran = 0;
        for (; ran < cases && clock.Elapsed < Budget; ran++)
        {
            var input = ran < seeds.Length ? seeds[ran] : Mutate(rng, seeds);
            Run(check, target, input, $"case {ran}");
        }
        // A run cut short by a loaded machine still has to mean something.
        await Assert.That(ran).IsGreaterThanOrEqualTo(Math.Min(cases, 200));
    }

    [Test]
    public async Task Every_input_a_fuzzing_campaign_found_stays_fixed()
    {
        var root = Path.Combine(Repo.Root, "tests", "Fuzz", "regressions");
        int count = 0;
        foreach (var dir in Directory.GetDirectories(root))
        {
            var check = FuzzTargets.All[Path.GetFileName(dir)];
            foreach (var file in Directory.GetFiles(dir).Order(StringComparer.Ordinal))
            {
                Run(check, Path.GetFileName(dir), File.ReadAllBytes(file), Path.GetFileName(file));
                count++;
            }
        }
        await Assert.That(count).IsGreaterThan(0);
    }

    private static string CorpusOf(string target) => target == "request-diff" ? "request" : target;

    private static void Run(FuzzCheck check, string target, byte[] input, string what)
    {
        try
        {
            check(input);
        }
        catch (Exception e)
        {
            throw new InvalidOperationException($"{target} {what}: {e.GetType().Name}: {e.Message}\n input: {Escape(input)}", e);
        }
    }

    /// <summary>afl's havoc in small: one to four byte flips, insertions of tokens, deletions, duplications, splices.</summary>
    private static byte[] Mutate(Random rng, byte[][] seeds)
    {
        var data = new List<byte>(seeds[rng.Next(seeds.Length)]);
        int ops = rng.Next(1, 5);
        for (int i = 0; i < ops; i++)
        {
            int at = rng.Next(data.Count + 1);
            switch (rng.Next(6))
            {
                case 0 when data.Count > 0:
                    at = Math.Min(at, data.Count - 1);
                    data[at] ^= (byte)(1 << rng.Next(8));
                    break;
                case 1:
                    data.Insert(at, (byte)rng.Next(256));
                    break;
                case 2:
                    data.InsertRange(at, Encoding.Latin1.GetBytes(Tokens[rng.Next(Tokens.Length)]));
                    break;
                case 3 when data.Count > 0:
                    at = Math.Min(at, data.Count - 1);
                    data.RemoveRange(at, rng.Next(1, Math.Min(16, data.Count - at) + 1));
                    break;
                case 4 when data.Count > 0:
                    at = Math.Min(at, data.Count - 1);
                    int len = rng.Next(1, Math.Min(32, data.Count - at) + 1);
                    data.InsertRange(rng.Next(data.Count + 1), data.GetRange(at, len));
                    break;
                default:
                    var other = seeds[rng.Next(seeds.Length)];
                    int from = rng.Next(other.Length + 1);
                    data.RemoveRange(at, data.Count - at);
                    data.AddRange(other.AsSpan(from).ToArray());
                    break;
            }
        }
        return data.ToArray();
    }

    private static string Escape(byte[] bytes)
    {
        var sb = new StringBuilder();
        foreach (byte b in bytes.Take(2000))
        {
            sb.Append(b is >= 0x20 and < 0x7F and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:x2}");
        }
        return sb.ToString();
    }
}
