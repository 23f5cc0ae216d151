namespace FipsAppliance.Configuration.Cfg;

/// <summary>
/// What HAProxy checks once the whole file is read (check_config_validity): names that refer to
/// other sections, TLS verification, and the warnings it gives. Runs on the bound model, whose
/// lines carry their [file:line].
/// </summary>
internal static class CfgValidator
{
    public static void Validate(ProxyConfig config, CfgDiagnostics diag)
    {
        // Duplicate names were reported by the parser; the first one declared is the one referred to.
        var backends = new Dictionary<string, ProxySection>(StringComparer.Ordinal);
        foreach (var p in config.Proxies)
            if (p.Kind != ProxyKind.Frontend) backends.TryAdd(p.Name, p);
        var resolvers = new HashSet<string>(config.Resolvers.Select(r => r.Name), StringComparer.Ordinal);

        foreach (var proxy in config.Proxies)
        {
            string kind = proxy.Kind.ToString().ToLowerInvariant();
            if (proxy.Kind != ProxyKind.Backend)
            {
                if (proxy.Binds.Length == 0)
                    diag.Warning(proxy.File, proxy.Line, $"{kind} '{proxy.Name}' has no 'bind' directive. Please declare it as a backend if this was intended.");
                if (proxy.DefaultBackend is { } db)
                    CheckBackendName(proxy, db, "default_backend", proxy.DefaultBackendFile ?? proxy.File, proxy.DefaultBackendLine, backends, diag);
                foreach (var rule in proxy.UseBackends)
                    CheckBackendName(proxy, rule.Backend, "use_backend", rule.File, rule.Line, backends, diag);
                if (proxy.Mode == ProxyMode.Tcp)
                    WarnHttpOnlyRules(proxy, kind, diag);
            }
            if (proxy.Kind != ProxyKind.Backend && proxy.Timeouts.Client is null or 0
                || proxy.Kind != ProxyKind.Frontend && (proxy.Timeouts.Connect is null or 0 || proxy.Timeouts.Server is null or 0))
            {
                diag.Warning(proxy.File, proxy.Line, $"missing timeouts for {kind} '{proxy.Name}'. While not properly invalid, you will certainly encounter various problems with such a configuration. To fix this, please ensure that all following timeouts are set to a non-zero value: 'client', 'connect', 'server'.");
            }

            // Checked once per line: the slots of a server-template share their line.
            int lastLine = -1;
            foreach (var server in proxy.Servers)
            {
                if (server.Line == lastLine) continue;
                lastLine = server.Line;
                string who = $"'server {proxy.Name}/{server.Template ?? server.Name}'";
                if (server.Resolvers is { } r && !resolvers.Contains(r))
                    diag.AlertAt(server.File, server.Line, $"{kind} '{proxy.Name}', server '{server.Name}': unable to find required resolvers '{r}'");
                if (server.Ssl && server.Verify == VerifyMode.Required && server.CaFile is null)
                    diag.AlertAt(server.File, server.Line, $"{who} : verify is enabled by default but no CA file specified. If you're running on a LAN where you're certain to trust the server's certificate, please set an explicit 'verify none' statement on the 'server' line, or use 'ssl-server-verify none' in the global section to disable server-side verifications by default.");
                if (server.Ssl && server.Verify == VerifyMode.None)
                    diag.WarningText($"[{server.File}:{server.Line}] : {who} : 'verify none': the server's certificate is not checked, so anyone on the path can read and change the relayed traffic.");
            }
        }
    }

    private static void CheckBackendName(ProxySection proxy, string name, string keyword, string file, int line,
        Dictionary<string, ProxySection> backends, CfgDiagnostics diag)
    {
        if (!backends.TryGetValue(name, out var target))
            diag.Alert(file, line, $"Proxy '{proxy.Name}': unable to find required {keyword}: '{name}'.");
        else if (ReferenceEquals(target, proxy))
            diag.Alert(file, line, $"Proxy '{proxy.Name}': loop detected for {keyword}: '{name}'.");
    }

    // HAProxy 2.6 accepts path fetches in a tcp frontend without a word; our tcp frontends never
    // parse HTTP, so such a rule can never match and the user should hear it.
    private static void WarnHttpOnlyRules(ProxySection proxy, string kind, CfgDiagnostics diag)
    {
        foreach (var rule in proxy.UseBackends)
        {
            foreach (var term in rule.Condition.Split(' '))
            {
                string name = term.TrimStart('!');
                var acl = proxy.Acls.FirstOrDefault(a => a.Name == name);
                if (acl is null) continue;
                diag.Warning(rule.File, rule.Line, $"'use_backend {rule.Backend}' in {kind} '{proxy.Name}' uses the HTTP sample fetch '{CriterionWord(acl.Criterion)}' but the {kind} is in 'mode tcp'; the rule will never match.");
                break;
            }
        }
    }

    public static string CriterionWord(AclCriterion c) => c switch
    {
        AclCriterion.PathBeg => "path_beg",
        AclCriterion.PathEnd => "path_end",
        _ => "path",
    };
}
