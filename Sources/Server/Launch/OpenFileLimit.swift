import Foundation

/// Raises this process's soft limit on open files to its hard limit. Every connection is a
/// file: with a soft limit of 256 (macOS) or 1024 (many Linux systems) a few hundred idle
/// clients would stop the server accepting anyone, /health included. Returns the limit now in
/// force, or nil when it cannot be read.
@discardableResult
func raiseOpenFileLimit() -> UInt64? {
    var limit = rlimit()
    #if os(Linux)
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    let resource = RLIMIT_NOFILE
    #endif
    guard getrlimit(resource, &limit) == 0 else { return nil }
    var target = limit.rlim_max
    #if os(macOS)
    target = min(target, rlim_t(OPEN_MAX))   // macOS refuses more than OPEN_MAX, even under an unlimited hard limit
    #endif
    if limit.rlim_cur < target {
        var raised = limit
        raised.rlim_cur = target
        if setrlimit(resource, &raised) == 0 { limit = raised }
    }
    return UInt64(limit.rlim_cur)
}
