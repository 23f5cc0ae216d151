using System.Security.Cryptography;
using FipsAppliance.Configuration;

namespace FipsAppliance.Fips;

/// <summary>Why the process refuses to run: one sentence saying what is wrong and how to fix it.</summary>
public sealed class FipsRefusal(string message) : Exception(message);

/// <summary>Where the OpenSSL configuration and the FIPS module are, after defaults were applied.</summary>
public sealed record FipsPaths(string OpenSslConf, string Module, string ModuleConf, string EmbeddedDir);

/// <summary>
/// Puts this process in FIPS mode before any .NET crypto call, then verifies it; refuses (fails
/// closed) on anything short of "fips provider only, fips=yes by default, self-tests passed".
/// There is deliberately no switch that lets the relay run without FIPS.
/// </summary>
public static class FipsBootstrap
{
    /// <summary>
    /// Test/diagnostic override of the embedded/ tree the default paths are derived from (the
    /// binary's own &lt;exe&gt;/../embedded otherwise). It can only point at another FIPS module
    /// tree, which goes through every check below; it cannot turn FIPS off. Explicit paths from the
    /// INI's [fips] section win over it.
    /// </summary>
    public const string EmbeddedOverrideVariable = "FIPS_APPLIANCE_EMBEDDED";

    private static readonly Lock Gate = new();
    private static FipsReport? s_report;
    private static FipsRefusal? s_refusal;

    /// <summary>
    /// Puts this process in FIPS mode (before any .NET crypto call) and verifies it.
    /// Throws <see cref="FipsRefusal"/> when any check fails. Idempotent: OpenSSL loads its
    /// configuration once per process, so a second call returns the first call's outcome.
    /// </summary>
    public static FipsReport Enable(FipsSettings settings)
    {
        lock (Gate)
        {
            if (s_report is not null) return s_report;
            if (s_refusal is not null) throw s_refusal;
            try
            {
                s_report = EnableOnce(ResolvePaths(settings));
                return s_report;
            }
            catch (FipsRefusal refusal)
            {
                s_refusal = refusal;
                throw;
            }
        }
    }

    /// <summary>The report of a successful <see cref="Enable"/>, or null.</summary>
    public static FipsReport? Current
    {
        get { lock (Gate) return s_report; }
    }

    public static FipsPaths ResolvePaths(FipsSettings settings)
    {
        string embedded = Environment.GetEnvironmentVariable(EmbeddedOverrideVariable) is { Length: > 0 } overridden
            ? Path.GetFullPath(overridden)
            : DefaultEmbeddedDir();
        return new FipsPaths(
            Path.GetFullPath(settings.OpenSslConf ?? Path.Combine(embedded, "ssl", "openssl.cnf")),
            Path.GetFullPath(settings.Module ?? Path.Combine(embedded, "lib", "ossl-modules", "fips.so")),
            Path.GetFullPath(settings.ModuleConf ?? Path.Combine(embedded, "ssl", "fipsmodule.cnf")),
            embedded);
    }

    /// <summary>&lt;dir of /proc/self/exe&gt;/../embedded: /opt/datadog-fips-proxy/embedded when packaged, artifacts/embedded in a dev tree.</summary>
    private static string DefaultEmbeddedDir()
    {
        string exe = Environment.ProcessPath ?? "/proc/self/exe";
        string dir = Path.GetDirectoryName(exe) ?? ".";
        return Path.GetFullPath(Path.Combine(dir, "..", "embedded"));
    }

    private static string Reinstall(FipsPaths p) => $"run `fipsinstall.sh {p.EmbeddedDir}` as root on this host";

    private static FipsReport EnableOnce(FipsPaths paths)
    {
        PreCheckFiles(paths);
        string loadErrors = LoadOpenSslConfig(paths);
        // A fips provider that fails its integrity check or self-tests while the config activates
        // it does not always make the load fail: the queue keeps the reason and the provider is
        // simply not there. So the provider checks run right away, with the queued reason at hand.
        VerifyProviders(paths, loadErrors);

        // .NET's shim now calls OPENSSL_init_ssl(LOAD_CONFIG, NULL): the run-once config load is
        // already done (ours), so the system /usr/lib/ssl/openssl.cnf and OPENSSL_CONF are not read.
        try
        {
            SHA256.HashData("fips"u8);
        }
        catch (CryptographicException e)
        {
            throw new FipsRefusal($"OpenSSL cannot compute SHA-256 through the FIPS provider after loading {paths.OpenSslConf} ({e.Message}): the module is not usable on this host; {Reinstall(paths)}.");
        }

        return VerifyAfterDotnetInit(paths);
    }

    private static void PreCheckFiles(FipsPaths p)
    {
        // A missing OpenSSL config fails OPEN in OpenSSL (the process silently runs non-FIPS),
        // so its absence is checked here and the load below does not ignore missing files either.
        if (!File.Exists(p.OpenSslConf))
            throw new FipsRefusal($"The OpenSSL configuration {p.OpenSslConf} is missing, and without it OpenSSL would run without the FIPS provider: reinstall datadog-fips-proxy or {Reinstall(p)}.");
        try
        {
            using var _ = File.OpenRead(p.OpenSslConf);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new FipsRefusal($"The OpenSSL configuration {p.OpenSslConf} cannot be read by this user ({e.Message}): give the service user read access to it.");
        }
        if (!File.Exists(p.Module))
            throw new FipsRefusal($"The FIPS module {p.Module} is missing: reinstall datadog-fips-proxy (in a development tree: ./build.sh fips).");
        if (!File.Exists(p.ModuleConf))
            throw new FipsRefusal($"The FIPS module is not installed on this host ({p.ModuleConf} is missing): {Reinstall(p)}.");
    }

    /// <summary>Loads our config as the process's one config load; returns what OpenSSL queued meanwhile.</summary>
    private static string LoadOpenSslConfig(FipsPaths p)
    {
        nint settings = LibCrypto.OPENSSL_INIT_new();
        if (settings == 0) throw new FipsRefusal("OpenSSL could not allocate its init settings (out of memory?): restart the service.");
        int ok;
        List<string> selfTestFailures;
        try
        {
            LibCrypto.ERR_clear_error();
            // Our file, named explicitly: OPENSSL_CONF in the environment is not consulted, and
            // OpenSSL's default flags (which ignore a missing file and failing modules) are replaced.
            if (LibCrypto.OPENSSL_INIT_set_config_filename(settings, p.OpenSslConf) != 1)
                throw new FipsRefusal("OpenSSL refused the configuration file name (out of memory?): restart the service.");
            LibCrypto.OPENSSL_INIT_set_config_file_flags(settings, (nuint)LibCrypto.CONF_MFLAGS_DEFAULT_SECTION);
            SelfTestWatch.Start();
            ok = LibCrypto.OPENSSL_init_crypto(LibCrypto.OPENSSL_INIT_LOAD_CONFIG, settings);
        }
        finally
        {
            selfTestFailures = SelfTestWatch.Stop();
            LibCrypto.OPENSSL_INIT_free(settings);
        }
        var errors = LibCrypto.DrainErrors();
        if (selfTestFailures.Count > 0)
            throw new FipsRefusal($"The FIPS module {p.Module} failed its self-test {string.Join(", ", selfTestFailures)}, so {p.ModuleConf} was not made for this module on this host (or the module was altered): {Reinstall(p)}.");
        string said = string.Join("; ", errors);
        if (ok != 1) throw new FipsRefusal(ClassifyLoadFailure(p, said.Length == 0 ? "no reason given" : said));
        return said;
    }

    /// <summary>The one sentence for a failed config load, from what OpenSSL's error queue said.</summary>
    internal static string ClassifyLoadFailure(FipsPaths p, string said)
    {
        bool Has(string s) => said.Contains(s, StringComparison.OrdinalIgnoreCase);
        // A fipsmodule.cnf made for another module or host: the provider's integrity check (MAC)
        // or its self-tests fail while activating ("self test post failure", "invalid state").
        if (Has("self test") || Has("selftest") || Has("integrity") || Has("checksum") || Has("invalid state")
            || Has("module-mac") || Has("install"))
            return $"The FIPS module {p.Module} failed its integrity check or self-tests, so {p.ModuleConf} was not made for this module on this host (OpenSSL: {said}): {Reinstall(p)}.";
        if (Has("could not load the shared library") || Has("DSO"))
            return $"OpenSSL could not load the FIPS module named in {p.OpenSslConf} (OpenSSL: {said}): check the module path there, or {Reinstall(p)}.";
        if (Has("no such file") || Has("system lib") || Has("BIO routines"))
            return $"OpenSSL could not read {p.OpenSslConf} or a file it includes (OpenSSL: {said}): {Reinstall(p)}.";
        return $"OpenSSL could not load the FIPS configuration {p.OpenSslConf} (OpenSSL: {said}): fix the file, or {Reinstall(p)} to regenerate it.";
    }

    private static void VerifyProviders(FipsPaths p, string loadErrors)
    {
        if (LibCrypto.OSSL_PROVIDER_available(0, "fips") != 1)
            throw new FipsRefusal(loadErrors.Length > 0
                ? ClassifyLoadFailure(p, loadErrors)
                : $"The FIPS provider is not active after loading {p.OpenSslConf}: the file must activate the fips provider; {Reinstall(p)} to regenerate it.");
        if (LibCrypto.OSSL_PROVIDER_available(0, "default") != 0)
            throw new FipsRefusal($"The OpenSSL default provider is active next to fips, so non-approved algorithms such as MD5 would be served: remove it from {p.OpenSslConf} (or {Reinstall(p)} to regenerate the file).");
        if (LibCrypto.EVP_default_properties_is_fips_enabled(0) != 1)
            throw new FipsRefusal($"fips=yes is not OpenSSL's default property: add `default_properties = fips=yes` to the algorithm section of {p.OpenSslConf}, or {Reinstall(p)} to regenerate it.");

    }

    private static FipsReport VerifyAfterDotnetInit(FipsPaths p)
    {
        // Re-checked after .NET's init: nothing it did may have loaded another provider.
        VerifyProviders(p, "");
        nint sha256 = LibCrypto.EVP_MD_fetch(0, "SHA2-256", null);
        if (sha256 == 0)
            throw new FipsRefusal($"OpenSSL cannot fetch SHA2-256 from the FIPS provider (OpenSSL: {string.Join("; ", LibCrypto.DrainErrors())}): {Reinstall(p)}.");
        string? providerName;
        (string? name, string? version, string? buildInfo, int? status) info;
        try
        {
            nint provider = LibCrypto.EVP_MD_get0_provider(sha256);
            providerName = LibCrypto.Str(LibCrypto.OSSL_PROVIDER_get0_name(provider));
            info = LibCrypto.ProviderParams(provider);
        }
        finally
        {
            LibCrypto.EVP_MD_free(sha256);
        }
        if (providerName != "fips")
            throw new FipsRefusal($"SHA2-256 is served by the provider '{providerName}', not fips: only the fips and base providers may be configured in {p.OpenSslConf}.");
        if (info.status != 1)
            throw new FipsRefusal($"The FIPS provider reports status {(info.status?.ToString() ?? "unknown")} (self-test failure): the module is in its error state; {Reinstall(p)} and restart.");

        nint md5 = LibCrypto.EVP_MD_fetch(0, "MD5", null);
        if (md5 != 0)
        {
            LibCrypto.EVP_MD_free(md5);
            throw new FipsRefusal($"OpenSSL still serves MD5, so a non-FIPS provider is reachable: only the fips and base providers may be configured in {p.OpenSslConf}.");
        }
        LibCrypto.ERR_clear_error();
        bool md5Refused;
        try
        {
            MD5.HashData("fips"u8);
            md5Refused = false;
        }
        catch (CryptographicException)
        {
            md5Refused = true;
        }
        if (!md5Refused)
            throw new FipsRefusal($".NET still computes MD5, so its crypto does not go through the FIPS configuration {p.OpenSslConf}: check that no other OpenSSL is loaded (DOTNET_OPENSSL_VERSION_OVERRIDE, LD_LIBRARY_PATH).");

        var loaded = LoadedLibraries.Read(p.Module);
        if (loaded.LibCrypto.Count != 1)
            throw new FipsRefusal($"This process has {loaded.LibCrypto.Count} libcrypto libraries mapped ({string.Join(", ", loaded.LibCrypto)}), so FIPS mode cannot be vouched for: remove LD_LIBRARY_PATH/LD_PRELOAD overrides.");
        string module = LoadedLibraries.RealPath(p.Module);
        if (loaded.FipsModules.Count != 1 || loaded.FipsModules[0] != module)
            throw new FipsRefusal($"The FIPS provider was loaded from {string.Join(", ", loaded.FipsModules)}, not from the configured module {module}: make the module path in {p.OpenSslConf} match, or {Reinstall(p)}.");

        return new FipsReport
        {
            OpenSslVersion = LibCrypto.Version(),
            LibCryptoPath = loaded.LibCrypto[0],
            OpenSslConf = p.OpenSslConf,
            Module = module,
            ProviderId = providerName,
            ProviderName = info.name ?? "unknown",
            ProviderVersion = info.version ?? "unknown",
            BuildInfo = info.buildInfo ?? "unknown",
            Status = info.status == 1 ? "active" : "error",
            Tls = TlsPolicySummary.InForce(p.OpenSslConf, null),
        };
    }

    /// <summary>CMVP validation by provider version (the module's version string, not the library's).</summary>
    public static string CmvpValidation(string providerVersion) => providerVersion switch
    {
        "3.0.8" or "3.0.9" => "FIPS 140-2 certificate #4282 (historical since 2026-09-21)",
        "3.1.2" => "FIPS 140-3 certificate #4985",
        _ => "not a validated module version",
    };
}

/// <summary>Which module runs, as `fips-status` prints it and the start-up log line says it.</summary>
public sealed class FipsReport
{
    public string OpenSslVersion { get; init; } = "";
    public string LibCryptoPath { get; init; } = "";
    public string OpenSslConf { get; init; } = "";
    public string Module { get; init; } = "";
    /// <summary>The provider's configured name ("fips").</summary>
    public string ProviderId { get; init; } = "";
    /// <summary>The provider's own name ("OpenSSL FIPS Provider").</summary>
    public string ProviderName { get; init; } = "";
    public string ProviderVersion { get; init; } = "";
    public string BuildInfo { get; init; } = "";
    public string Status { get; init; } = "";
    public string CmvpValidation => FipsBootstrap.CmvpValidation(ProviderVersion);
    public TlsPolicySummary Tls { get; init; } = new();

    /// <summary>The same report with the TLS policy the cfg's global section puts in force.</summary>
    public FipsReport WithGlobal(GlobalSection? global) => new()
    {
        OpenSslVersion = OpenSslVersion, LibCryptoPath = LibCryptoPath, OpenSslConf = OpenSslConf, Module = Module,
        ProviderId = ProviderId, ProviderName = ProviderName, ProviderVersion = ProviderVersion,
        BuildInfo = BuildInfo, Status = Status, Tls = TlsPolicySummary.InForce(OpenSslConf, global),
    };

    public string ToText() => $"""
        FIPS mode:          enabled (fail-closed checks passed)
        OpenSSL library:    {OpenSslVersion} ({LibCryptoPath})
        OpenSSL config:     {OpenSslConf}
        FIPS module:        {Module}
        Provider:           {ProviderId} ({ProviderName})
        Provider version:   {ProviderVersion}
        Provider buildinfo: {BuildInfo}
        Provider status:    {Status}
        CMVP validation:    {CmvpValidation}
        Checks:             fips=yes by default; fips active, default not loaded; SHA2-256 from fips; MD5 refused
        TLS protocols:      {Tls.Protocols}
        TLS groups:         {Tls.Groups}
        TLS 1.3 suites:     {Tls.Ciphersuites}
        TLS 1.2 ciphers:    {Tls.Ciphers}
        TLS policy source:  {Tls.Source}

        """;

    public string ToLogLine() =>
        $"FIPS mode enabled: {OpenSslVersion}, provider {ProviderId} \"{ProviderName}\" {ProviderVersion} " +
        $"(buildinfo {BuildInfo}, status {Status}, {CmvpValidation}), module {Module}, config {OpenSslConf}; " +
        $"TLS {Tls.Protocols}, groups {Tls.Groups}, suites {Tls.Ciphersuites}, ciphers {Tls.Ciphers}";
}
