/// llama-server's check of a slot file name (common's fs_validate_filename without
/// subdirectories): a plain name inside --slot-save-path, never a path out of it.
enum SlotFileName {
    static func isValid(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 255 else { return false }
        let forbidden: Set<Character> = [":", "*", "?", "\"", "<", ">", "|", "/", "\\"]
        for scalar in name.unicodeScalars {
            let c = scalar.value
            // Control characters, look-alikes of '.', '/' and '\', the replacement character and BOM.
            if c <= 0x1F || c == 0x7F || (0x80...0x9F).contains(c) || [0xFF0E, 0x2215, 0x2216, 0xFFFD, 0xFEFF].contains(c) {
                return false
            }
            if forbidden.contains(Character(scalar)) { return false }
        }
        // Names Windows would strip (leading or trailing space, trailing dot), and any "..".
        return name.first != " " && name.last != " " && name.last != "." && !name.contains("..") && name != "."
    }
}
