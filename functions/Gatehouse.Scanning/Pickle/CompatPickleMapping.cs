namespace Gatehouse.Scanning.Pickle;

/// <summary>
/// CPython's <c>Lib/_compat_pickle.py</c> (3.11, Linux): the Python 2 names <c>find_class</c> rewrites when the protocol
/// in force is below 3 (with the default <c>fix_imports=True</c>). NAME_MAPPING is tried first, then IMPORT_MAPPING.
/// </summary>
internal static class CompatPickleMapping
{
    /// <summary>IMPORT_MAPPING after its module-level <c>update</c> (the non-mutual entries).</summary>
    public static readonly IReadOnlyDictionary<string, string> ImportMapping = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["__builtin__"] = "builtins",
        ["copy_reg"] = "copyreg",
        ["Queue"] = "queue",
        ["SocketServer"] = "socketserver",
        ["ConfigParser"] = "configparser",
        ["repr"] = "reprlib",
        ["tkFileDialog"] = "tkinter.filedialog",
        ["tkSimpleDialog"] = "tkinter.simpledialog",
        ["tkColorChooser"] = "tkinter.colorchooser",
        ["tkCommonDialog"] = "tkinter.commondialog",
        ["Dialog"] = "tkinter.dialog",
        ["Tkdnd"] = "tkinter.dnd",
        ["tkFont"] = "tkinter.font",
        ["tkMessageBox"] = "tkinter.messagebox",
        ["ScrolledText"] = "tkinter.scrolledtext",
        ["Tkconstants"] = "tkinter.constants",
        ["Tix"] = "tkinter.tix",
        ["ttk"] = "tkinter.ttk",
        ["Tkinter"] = "tkinter",
        ["markupbase"] = "_markupbase",
        ["_winreg"] = "winreg",
        ["thread"] = "_thread",
        ["dummy_thread"] = "_dummy_thread",
        ["dbhash"] = "dbm.bsd",
        ["dumbdbm"] = "dbm.dumb",
        ["dbm"] = "dbm.ndbm",
        ["gdbm"] = "dbm.gnu",
        ["xmlrpclib"] = "xmlrpc.client",
        ["SimpleXMLRPCServer"] = "xmlrpc.server",
        ["httplib"] = "http.client",
        ["htmlentitydefs"] = "html.entities",
        ["HTMLParser"] = "html.parser",
        ["Cookie"] = "http.cookies",
        ["cookielib"] = "http.cookiejar",
        ["BaseHTTPServer"] = "http.server",
        ["test.test_support"] = "test.support",
        ["commands"] = "subprocess",
        ["urlparse"] = "urllib.parse",
        ["robotparser"] = "urllib.robotparser",
        ["urllib2"] = "urllib.request",
        ["anydbm"] = "dbm",
        ["_abcoll"] = "collections.abc",
        // IMPORT_MAPPING.update({...})
        ["cPickle"] = "pickle",
        ["_elementtree"] = "xml.etree.ElementTree",
        ["FileDialog"] = "tkinter.filedialog",
        ["SimpleDialog"] = "tkinter.simpledialog",
        ["DocXMLRPCServer"] = "xmlrpc.server",
        ["SimpleHTTPServer"] = "http.server",
        ["CGIHTTPServer"] = "http.server",
        ["UserDict"] = "collections",
        ["UserList"] = "collections",
        ["UserString"] = "collections",
        ["whichdb"] = "dbm",
        ["StringIO"] = "io",
        ["cStringIO"] = "io",
    };

    /// <summary>NAME_MAPPING, including the exception loops and the module-level <c>update</c>.</summary>
    public static readonly IReadOnlyDictionary<(string Module, string Name), (string Module, string Name)> NameMapping = BuildNameMapping();

    private static Dictionary<(string, string), (string, string)> BuildNameMapping()
    {
        var map = new Dictionary<(string, string), (string, string)>
        {
            [("__builtin__", "xrange")] = ("builtins", "range"),
            [("__builtin__", "reduce")] = ("functools", "reduce"),
            [("__builtin__", "intern")] = ("sys", "intern"),
            [("__builtin__", "unichr")] = ("builtins", "chr"),
            [("__builtin__", "unicode")] = ("builtins", "str"),
            [("__builtin__", "long")] = ("builtins", "int"),
            [("itertools", "izip")] = ("builtins", "zip"),
            [("itertools", "imap")] = ("builtins", "map"),
            [("itertools", "ifilter")] = ("builtins", "filter"),
            [("itertools", "ifilterfalse")] = ("itertools", "filterfalse"),
            [("itertools", "izip_longest")] = ("itertools", "zip_longest"),
            [("UserDict", "IterableUserDict")] = ("collections", "UserDict"),
            [("UserList", "UserList")] = ("collections", "UserList"),
            [("UserString", "UserString")] = ("collections", "UserString"),
            [("whichdb", "whichdb")] = ("dbm", "whichdb"),
            [("_socket", "fromfd")] = ("socket", "fromfd"),
            [("_multiprocessing", "Connection")] = ("multiprocessing.connection", "Connection"),
            [("multiprocessing.process", "Process")] = ("multiprocessing.context", "Process"),
            [("multiprocessing.forking", "Popen")] = ("multiprocessing.popen_fork", "Popen"),
            [("urllib", "ContentTooShortError")] = ("urllib.error", "ContentTooShortError"),
            [("urllib", "getproxies")] = ("urllib.request", "getproxies"),
            [("urllib", "pathname2url")] = ("urllib.request", "pathname2url"),
            [("urllib", "quote_plus")] = ("urllib.parse", "quote_plus"),
            [("urllib", "quote")] = ("urllib.parse", "quote"),
            [("urllib", "unquote_plus")] = ("urllib.parse", "unquote_plus"),
            [("urllib", "unquote")] = ("urllib.parse", "unquote"),
            [("urllib", "url2pathname")] = ("urllib.request", "url2pathname"),
            [("urllib", "urlcleanup")] = ("urllib.request", "urlcleanup"),
            [("urllib", "urlencode")] = ("urllib.parse", "urlencode"),
            [("urllib", "urlopen")] = ("urllib.request", "urlopen"),
            [("urllib", "urlretrieve")] = ("urllib.request", "urlretrieve"),
            [("urllib2", "HTTPError")] = ("urllib.error", "HTTPError"),
            [("urllib2", "URLError")] = ("urllib.error", "URLError"),
        };
        // PYTHON2_EXCEPTIONS (WindowsError only exists on Windows and is absent here).
        string[] python2Exceptions =
        [
            "ArithmeticError", "AssertionError", "AttributeError", "BaseException", "BufferError", "BytesWarning",
            "DeprecationWarning", "EOFError", "EnvironmentError", "Exception", "FloatingPointError", "FutureWarning",
            "GeneratorExit", "IOError", "ImportError", "ImportWarning", "IndentationError", "IndexError", "KeyError",
            "KeyboardInterrupt", "LookupError", "MemoryError", "NameError", "NotImplementedError", "OSError",
            "OverflowError", "PendingDeprecationWarning", "ReferenceError", "RuntimeError", "RuntimeWarning",
            "StopIteration", "SyntaxError", "SyntaxWarning", "SystemError", "SystemExit", "TabError", "TypeError",
            "UnboundLocalError", "UnicodeDecodeError", "UnicodeEncodeError", "UnicodeError", "UnicodeTranslateError",
            "UnicodeWarning", "UserWarning", "ValueError", "Warning", "ZeroDivisionError",
        ];
        foreach (var name in python2Exceptions)
        {
            map[("exceptions", name)] = ("builtins", name);
        }
        foreach (var name in (string[])["AuthenticationError", "BufferTooShort", "ProcessError", "TimeoutError"])
        {
            map[("multiprocessing", name)] = ("multiprocessing.context", name);
        }
        // NAME_MAPPING.update({...})
        map[("__builtin__", "basestring")] = ("builtins", "str");
        map[("exceptions", "StandardError")] = ("builtins", "Exception");
        map[("UserDict", "UserDict")] = ("collections", "UserDict");
        map[("socket", "_socketobject")] = ("socket", "SocketType");
        return map;
    }

    /// <summary>Applies the mapping exactly as <c>find_class</c> does below protocol 3.</summary>
    public static (string Module, string Name) Map(string module, string name)
    {
        if (NameMapping.TryGetValue((module, name), out var mapped))
        {
            return mapped;
        }
        return ImportMapping.TryGetValue(module, out var newModule) ? (newModule, name) : (module, name);
    }
}
