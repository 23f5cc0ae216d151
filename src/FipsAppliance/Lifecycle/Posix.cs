using System.Runtime.InteropServices;

namespace FipsAppliance.Lifecycle;

/// <summary>The few libc calls the daemon's life needs that .NET does not expose.</summary>
internal static unsafe partial class Posix
{
    private const string LibC = "libc";
    private const int RLIMIT_NOFILE = 7;
    private const int CLOCK_MONOTONIC = 1;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Max;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport(LibC, EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetRLimit(int resource, RLimit* limit);

    [LibraryImport(LibC, EntryPoint = "setrlimit", SetLastError = true)]
    private static partial int SetRLimit(int resource, RLimit* limit);

    [LibraryImport(LibC, EntryPoint = "clock_gettime", SetLastError = true)]
    private static partial int ClockGetTime(int clock, TimeSpec* time);

    [LibraryImport(LibC, EntryPoint = "malloc_trim")]
    private static partial int MallocTrimNative(nuint pad);

    /// <summary>
    /// glibc's malloc_trim(0): gives the free memory of every malloc arena back to the kernel
    /// (OpenSSL allocates on the socket event threads, so freed TLS state sits in their arenas).
    /// </summary>
    public static void MallocTrim() => MallocTrimNative(0);

    /// <summary>RLIMIT_NOFILE (soft, hard); RLIM_INFINITY shows as ulong.MaxValue.</summary>
    public static (ulong Soft, ulong Hard) FileLimit()
    {
        RLimit l;
        if (GetRLimit(RLIMIT_NOFILE, &l) != 0) return (1024, 1024);
        return (l.Current, l.Max);
    }

    /// <summary>Raises the soft RLIMIT_NOFILE to <paramref name="soft"/> (at most the hard limit). False when refused.</summary>
    public static bool SetFileLimit(ulong soft)
    {
        RLimit l;
        if (GetRLimit(RLIMIT_NOFILE, &l) != 0) return false;
        l.Current = Math.Min(soft, l.Max);
        return SetRLimit(RLIMIT_NOFILE, &l) == 0;
    }

    /// <summary>CLOCK_MONOTONIC in µs: the clock systemd compares `MONOTONIC_USEC` with.</summary>
    public static long MonotonicMicroseconds()
    {
        TimeSpec t;
        if (ClockGetTime(CLOCK_MONOTONIC, &t) != 0) return 0;
        return t.Seconds * 1_000_000 + t.Nanoseconds / 1_000;
    }
}
