using System.Runtime.InteropServices;

namespace FipsAppliance.Fips;

/// <summary>
/// What /proc/self/maps says is mapped: exactly one libcrypto and the configured fips.so is
/// what makes the provider checks meaningful (a second libcrypto would have its own, non-FIPS
/// default library context that .NET could be using).
/// </summary>
internal sealed partial class LoadedLibraries
{
    public List<string> LibCrypto { get; } = [];
    public List<string> FipsModules { get; } = [];

    public static LoadedLibraries Read(string? module = null)
    {
        var result = new LoadedLibraries();
        string? moduleName = module is null ? null : Path.GetFileName(module);
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash < 0) continue;
            string path = line[slash..].Trim();
            string file = Path.GetFileName(path);
            if (file.StartsWith("libcrypto.so", StringComparison.Ordinal))
            {
                if (!result.LibCrypto.Contains(path)) result.LibCrypto.Add(path);
            }
            else if (file == "fips.so" || file == moduleName || path.Contains("/ossl-modules/", StringComparison.Ordinal))
            {
                if (!result.FipsModules.Contains(path)) result.FipsModules.Add(path);
            }
        }
        return result;
    }

    /// <summary>realpath(3): the kernel maps files by their resolved path.</summary>
    public static string RealPath(string path)
    {
        nint p = realpath(path, 0);
        if (p == 0) return Path.GetFullPath(path);
        try { return Marshal.PtrToStringUTF8(p) ?? path; }
        finally { free(p); }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint realpath(string path, nint resolved);

    [LibraryImport("libc")]
    private static partial void free(nint p);
}
