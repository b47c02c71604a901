/*
 * forbid-removed: an oc-registry admission policy written in C, to show the policy ABI is
 * language-neutral. It refuses a Config change that sets managementState to Removed (which tears
 * the registry down and may delete its storage) unless the registry is already Removed.
 *
 * Build (freestanding: no libc, no imports):
 *   python3 -m ziglang cc -target wasm32-freestanding -O2 -nostdlib \
 *     -Wl,--no-entry -Wl,--export=pol_abi_version -Wl,--export=pol_alloc \
 *     -Wl,--export=pol_free -Wl,--export=pol_evaluate -Wl,--export-memory \
 *     -o forbid_removed.wasm policy.c
 * (clang --target=wasm32 with wasm-ld works the same way.)
 */

typedef unsigned int u32;
typedef unsigned long long u64;

/* The metadata custom section, emitted directly: the assembler turns `.custom_section.NAME` into
 * a WebAssembly custom section NAME. */
__asm__(".section \".custom_section.oc-registry.policy\",\"\",@\n"
        ".ascii \"{\\\"abi\\\":1,\\\"name\\\":\\\"forbid-removed\\\",\\\"version\\\":\\\"1.0.0\\\","
        "\\\"description\\\":\\\"Refuses switching the registry to Removed\\\","
        "\\\"hooks\\\":[\\\"admission\\\"]}\"\n"
        ".text\n");

/* A bump allocator over a static heap: each decision runs in a fresh instance, so nothing is
 * ever reused and pol_free has nothing to do. */
static unsigned char heap[1 << 20];
static u32 heap_top;

int pol_abi_version(void) { return 1; }

int pol_alloc(int len) {
    if (len <= 0 || (u32)len > sizeof heap - heap_top) return 0;
    u32 at = heap_top;
    heap_top += ((u32)len + 7u) & ~7u;
    return (int)(u32)(unsigned long)(heap + at);
}

void pol_free(int ptr, int len) { (void)ptr; (void)len; }

static u32 length(const char *s) { u32 n = 0; while (s[n]) n++; return n; }

/* The first occurrence of `needle` in text[from..len), or -1. */
static long find(const char *text, u32 len, u32 from, const char *needle) {
    u32 n = length(needle);
    for (u32 i = from; i + n <= len; i++) {
        u32 j = 0;
        while (j < n && text[i + j] == needle[j]) j++;
        if (j == n) return (long)i;
    }
    return -1;
}

/* Whether `"managementState":"Removed"` appears in the object that follows `"key":`. The host
 * sends compact JSON (no spaces); objects end where their braces balance. */
static int removed_in(const char *text, u32 len, const char *key) {
    long at = find(text, len, 0, key);
    if (at < 0) return 0;
    u32 i = (u32)at + length(key);
    if (i >= len || text[i] != '{') return 0;
    u32 start = i, depth = 0, in_string = 0;
    for (; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = 0;
        } else if (c == '"') in_string = 1;
        else if (c == '{') depth++;
        else if (c == '}' && --depth == 0) break;
    }
    long hit = find(text, i, start, "\"managementState\":\"Removed\"");
    return hit >= 0;
}

static const char allow[] = "{\"allowed\":true}";
static const char deny[] =
    "{\"allowed\":false,\"reasons\":[\"switching the registry to Removed is forbidden here: it tears the "
    "registry down and deletes operator-managed storage; ask the platform team\"]}";

static u64 answer(const char *json) {
    u32 n = length(json);
    char *out = (char *)(unsigned long)(u32)pol_alloc((int)n);
    if (!out) return 0;
    for (u32 i = 0; i < n; i++) out[i] = json[i];
    return ((u64)(u32)(unsigned long)out << 32) | n;
}

long long pol_evaluate(int ptr, int len) {
    const char *request = (const char *)(unsigned long)(u32)ptr;
    u32 n = (u32)len;
    if (find(request, n, 0, "\"hook\":\"admission\"") < 0) return (long long)answer(allow);
    if (find(request, n, 0, "\"kind\":\"Config\"") < 0) return (long long)answer(allow);
    int proposed = removed_in(request, n, "\"proposed\":");
    int current = removed_in(request, n, "\"current\":");
    return (long long)answer(proposed && !current ? deny : allow);
}
