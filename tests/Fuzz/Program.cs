using System.Text;
using FipsAppliance.Fuzz.Targets;
using SharpFuzz;

// dotnet FipsAppliance.Fuzz.dll <target>                   under afl-fuzz: the input on stdin, SharpFuzz's fork server
// dotnet FipsAppliance.Fuzz.dll <target> --replay <file>... run files (crashes, a corpus) without afl, say what each did
// dotnet FipsAppliance.Fuzz.dll --list                      the target names
if (args.Length == 1 && args[0] == "--list")
{
    Console.WriteLine(string.Join('\n', FuzzTargets.All.Keys));
    return 0;
}
if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var check))
{
    Console.Error.WriteLine($"usage: FipsAppliance.Fuzz <{string.Join('|', FuzzTargets.All.Keys)}> [--replay <file|dir>...]");
    return 2;
}

if (args.Length > 1 && args[1] == "--replay")
{
    int failures = 0;
    var files = args.Skip(2).SelectMany(a => Directory.Exists(a) ? Directory.GetFiles(a).Order(StringComparer.Ordinal) : (IEnumerable<string>)[a]);
    foreach (string file in files)
    {
        try
        {
            check(File.ReadAllBytes(file));
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine($"{file}: {e.GetType().Name}: {e.Message}");
            Console.WriteLine($"  input: {Escape(File.ReadAllBytes(file))}");
            if (e is not FuzzFailure)
            {
                Console.WriteLine(e.StackTrace);
            }
        }
    }
    return failures == 0 ? 0 : 1;
}

Fuzzer.Run(stream =>
{
    using var memory = new MemoryStream();
    stream.CopyTo(memory);
    check(memory.GetBuffer().AsSpan(0, (int)memory.Length));
});
return 0;

static string Escape(byte[] bytes)
{
    var sb = new StringBuilder("\"");
    foreach (byte b in bytes.Take(2000))
    {
        sb.Append(b switch
        {
            (byte)'\r' => "\\r",
            (byte)'\n' => "\\n",
            (byte)'\t' => "\\t",
            (byte)'"' => "\\\"",
            (byte)'\\' => "\\\\",
            >= 0x20 and < 0x7F => ((char)b).ToString(),
            _ => $"\\x{b:x2}",
        });
    }
    return sb.Append(bytes.Length > 2000 ? "\"..." : "\"").ToString();
}
