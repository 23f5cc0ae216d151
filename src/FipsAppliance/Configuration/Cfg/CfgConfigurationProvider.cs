using Microsoft.Extensions.Configuration;

namespace FipsAppliance.Configuration.Cfg;

/// <summary>
/// The parsed cfg as a configuration provider. Keys follow ProxyConfig's shape; proxies, servers,
/// binds... are arrays by index (`Proxies:0:Name`, `Proxies:0:Binds:1:Port`), not by name, because
/// HAProxy names are case-sensitive while configuration keys are not.
/// </summary>
internal sealed class CfgConfigurationProvider(IDictionary<string, string?> data) : ConfigurationProvider
{
    // The base GetChildKeys scans every key for every section the binder visits: quadratic. On the
    // shipped file (16 backends x 5 servers, ~3000 keys) `-c` took 42 ms with it and 8 ms with
    // this index of children per parent path (AOT binary, 20-run average).
    private Dictionary<string, List<string>> _children = new(StringComparer.OrdinalIgnoreCase);

    public override void Load()
    {
        Data = new Dictionary<string, string?>(data, StringComparer.OrdinalIgnoreCase);
        var children = new Dictionary<string, List<string>>(StringComparer.OrdinalIgnoreCase);
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var key in Data.Keys)
        {
            // Every prefix of a key is a section with one child segment.
            int start = 0;
            while (true)
            {
                int colon = key.IndexOf(':', start);
                string parent = start == 0 ? "" : key[..(start - 1)];
                string child = colon < 0 ? key[start..] : key[start..colon];
                if (seen.Add(parent.Length == 0 ? child : parent + ":" + child))
                {
                    if (!children.TryGetValue(parent, out var list)) children[parent] = list = [];
                    list.Add(child);
                }
                if (colon < 0) break;
                start = colon + 1;
            }
        }
        _children = children;
    }

    public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath)
    {
        var result = new List<string>(earlierKeys);
        if (_children.TryGetValue(parentPath ?? "", out var list)) result.AddRange(list);
        result.Sort(ConfigurationKeyComparer.Instance);
        return result;
    }
}

internal sealed class CfgConfigurationSource(IDictionary<string, string?> data) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new CfgConfigurationProvider(data);
}

/// <summary>Turns the parse-time model into the provider's flat key space.</summary>
internal static class CfgFlattener
{
    public static Dictionary<string, string?> ToData(CfgParser p, int rangeStart, CfgDiagnostics diag)
    {
        var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var g = p.Global;
        foreach (var (k, v) in g.Values)
        {
            if (k.EndsWith(":Words", StringComparison.Ordinal)) AddSslOptions(data, "Global:" + k[..^":Words".Length], v.Split(' ', StringSplitOptions.RemoveEmptyEntries), p, g.File, 0);
            else data["Global:" + k] = v;
        }
        AddList(data, "Global:Logs", g.Logs);
        AddList(data, "Global:StatsSockets", g.StatsSockets);

        bool shift = rangeStart != PortSettings.DefaultRangeStart;
        int moved = 0;
        for (int i = 0; i < p.Proxies.Count; i++)
        {
            var s = p.Proxies[i];
            string pre = $"Proxies:{i}:";
            foreach (var (k, v) in s.Values) data[pre + k] = v;
            for (int j = 0; j < s.Binds.Count; j++)
            {
                var b = new Keys(s.Binds[j]);
                int port = int.Parse(b["Port"], System.Globalization.CultureInfo.InvariantCulture);
                if (shift && port >= PortSettings.DefaultRangeStart && port < PortSettings.DefaultRangeStart + PortSettings.RangeLength)
                {
                    b["Port"] = CfgParser.Num(port - PortSettings.DefaultRangeStart + rangeStart);
                    moved++;
                }
                AddKeys(data, $"{pre}Binds:{j}:", b);
            }
            AddList(data, pre + "Logs", s.Logs);
            AddList(data, pre + "Acls", s.Acls);
            AddList(data, pre + "UseBackends", s.UseBackends);
            for (int j = 0; j < s.Servers.Count; j++)
            {
                var server = new Keys(s.Servers[j]);
                string sp = $"{pre}Servers:{j}:";
                if (!server.ContainsKey("Verify")) server["Verify"] = p.DefaultVerify;
                // Arrays bind by appending to the property's initial value, so InitAddr is always
                // written in full and ServerLine's default is the empty array (see ProxyConfig.cs).
                string initAddr = server.Remove("InitAddr", out var ia) ? ia : "last,libc";
                var methods = initAddr.Split(',');
                for (int m = 0; m < methods.Length; m++) data[$"{sp}InitAddr:{m}"] = methods[m];
                server.Remove("SslWords", out var words);
                var all = new List<string>(p.GlobalServerSslWords);
                if (words is not null) all.AddRange(words.Split(' '));
                AddSslOptions(data, sp + "SslOptions", all, p, server["File"], int.Parse(server["Line"], System.Globalization.CultureInfo.InvariantCulture));
                AddKeys(data, sp, server);
            }
        }
        if (shift)
            diag.Notice($"DD_FIPS_PORT_RANGE_START={rangeStart}: {moved} bind(s) in {PortSettings.DefaultRangeStart}-{PortSettings.DefaultRangeStart + PortSettings.RangeLength - 1} moved to {rangeStart}-{rangeStart + PortSettings.RangeLength - 1}.");

        for (int i = 0; i < p.Resolvers.Count; i++)
        {
            var r = p.Resolvers[i];
            string pre = $"Resolvers:{i}:";
            data[pre + "Name"] = r.Name;
            data[pre + "File"] = r.File;
            data[pre + "Line"] = CfgParser.Num(r.Line);
            foreach (var (k, v) in r.Values) data[pre + k] = v;
            AddList(data, pre + "Nameservers", r.Nameservers);
        }
        return data;
    }

    private static void AddSslOptions(Dictionary<string, string?> data, string prefix, IReadOnlyList<string> words, CfgParser p, string file, int line)
    {
        var (min, max, noTickets, error) = CfgParser.ReduceSslWords(words);
        if (error is not null) p.AlertText($"[{file}:{line}] : {error} ({string.Join(' ', words)}).");
        if (min is not null) data[prefix + ":MinVersion"] = min;
        if (max is not null) data[prefix + ":MaxVersion"] = max;
        if (noTickets) data[prefix + ":NoTlsTickets"] = "true";
        for (int i = 0; i < words.Count; i++) data[$"{prefix}:Words:{i}"] = words[i];
    }

    private static void AddList(Dictionary<string, string?> data, string prefix, List<Keys> items)
    {
        for (int i = 0; i < items.Count; i++) AddKeys(data, $"{prefix}:{i}:", items[i]);
    }

    private static void AddKeys(Dictionary<string, string?> data, string prefix, Keys keys)
    {
        foreach (var (k, v) in keys) data[prefix + k] = v;
    }
}
