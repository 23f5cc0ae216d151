namespace FipsAppliance.Fuzz.Targets;

/// <summary>One fuzz target: checks one input and throws <see cref="FuzzFailure"/> (or anything else) on a finding.</summary>
public delegate void FuzzCheck(ReadOnlySpan<byte> input);

/// <summary>
/// The targets by name, shared by the afl++ driver (tests/Fuzz/Program.cs) and the deterministic
/// random runs of the unit tests (tests/FipsAppliance.Tests/Fuzz). What counts as a crash is written
/// on each target; in every target an exception escaping the product code is one.
/// </summary>
public static class FuzzTargets
{
    public static IReadOnlyDictionary<string, FuzzCheck> All { get; } = new Dictionary<string, FuzzCheck>(StringComparer.Ordinal)
    {
        ["request"] = RequestTarget.Check,
        ["request-diff"] = RequestDifferentialTarget.Check,
        ["response"] = ResponseTarget.Check,
        ["chunked"] = ChunkedTarget.Check,
        ["cfg"] = CfgTarget.Check,
    };
}

/// <summary>An input broke a target's rule (disagreement, out-of-range result): a crash for afl.</summary>
public sealed class FuzzFailure(string message) : Exception(message)
{
    public static void Check(bool condition, string what)
    {
        if (!condition)
        {
            throw new FuzzFailure(what);
        }
    }

    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            throw new FuzzFailure($"{what}: expected {expected}, got {actual}");
        }
    }
}

/// <summary>
/// Read sizes of 1 to 61 bytes (the range .NET's own HTTP fuzzers use), drawn from a hash of the
/// input so that a finding replays with the same reads.
/// </summary>
public static class ReadSizes
{
    public static IEnumerable<int> For(byte[] input)
    {
        ulong state = 14695981039346656037UL;
        foreach (byte b in input)
        {
            state = (state ^ b) * 1099511628211UL;
        }
        while (true)
        {
            // splitmix64
            state += 0x9E3779B97F4A7C15UL;
            ulong z = state;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            yield return 1 + (int)(z % 61);
        }
    }
}
