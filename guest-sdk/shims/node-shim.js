// subrun's Node-like shim for QuickJS-ng (`qjs --std -I node-shim.js main.js ARGS...`).
//
// It maps a small part of Node's API onto QuickJS's `std` and `os` modules, so scripts
// written for `node main.js` that read their input and print their output run unchanged:
//
//   process.argv, process.env, process.exit(code), process.platform, process.cwd()
//   process.stdout.write / process.stderr.write (strings and Uint8Arrays)
//   process.stdin.on('data' | 'end')        (the whole of stdin, then end)
//   require('fs'): readFileSync (paths, fd 0 / '/dev/stdin'), writeFileSync (paths, fd 1, 2),
//                  appendFileSync, existsSync
//   require('readline').createInterface({ input: process.stdin }).on('line' | 'close')
//   console.log / info / debug (stdout), console.error / warn (stderr), with a Node-like
//   formatting of values; setTimeout / setInterval / clear* (os timers); module, exports
//
// It is NOT Node: no npm packages, no other built-in modules (path, child_process, http...),
// no Buffer (readFileSync without an encoding returns a Uint8Array with a Node-like
// toString()), no process.exitCode, no process.on(...), no async fs. docs/guests.md says more.
"use strict";

(() => {
  const encodeUtf8 = (text) => {
    const out = [];
    for (const ch of text) {
      let c = ch.codePointAt(0);
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate, as Node writes it
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  };

  // UTF-8 to a string; an invalid sequence becomes U+FFFD, as in Node.
  const decodeUtf8 = (bytes) => {
    let out = "";
    const chunk = [];
    const flush = () => {
      out += String.fromCodePoint(...chunk);
      chunk.length = 0;
    };
    for (let i = 0; i < bytes.length; ) {
      const b = bytes[i];
      let need = 0;
      let c = 0;
      let min = 0;
      if (b < 0x80) {
        chunk.push(b);
        i += 1;
        if (chunk.length > 4096) flush();
        continue;
      } else if (b >= 0xc2 && b < 0xe0) [need, c, min] = [1, b & 31, 0x80];
      else if (b >= 0xe0 && b < 0xf0) [need, c, min] = [2, b & 15, 0x800];
      else if (b >= 0xf0 && b < 0xf5) [need, c, min] = [3, b & 7, 0x10000];
      else {
        chunk.push(0xfffd);
        i += 1;
        continue;
      }
      let j = 1;
      for (; j <= need && i + j < bytes.length && (bytes[i + j] & 0xc0) === 0x80; j++) {
        c = (c << 6) | (bytes[i + j] & 63);
      }
      if (j <= need || c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
        chunk.push(0xfffd);
        i += Math.max(1, j);
      } else {
        chunk.push(c);
        i += need + 1;
      }
      if (chunk.length > 4096) flush();
    }
    flush();
    return out;
  };

  const toBytes = (data) => {
    if (typeof data === "string") return encodeUtf8(data);
    if (data instanceof Uint8Array) return data;
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    return encodeUtf8(String(data));
  };

  // What readFileSync returns without an encoding: bytes that read as text with toString().
  class FileBytes extends Uint8Array {
    toString(encoding) {
      if (encoding === undefined || /^utf-?8$/i.test(encoding)) return decodeUtf8(this);
      if (/^(latin1|binary)$/i.test(encoding)) return String.fromCharCode(...this);
      throw new TypeError(`subrun's node shim: encoding ${encoding} is not supported`);
    }
  }
  const fileBytes = (u8) => {
    const b = new FileBytes(u8.length);
    b.set(u8);
    return b;
  };

  // WASI errno numbers (not Linux's) to Node's codes and messages.
  const ERRNO = {
    2: ["EACCES", "permission denied"],
    8: ["EBADF", "bad file descriptor"],
    20: ["EEXIST", "file already exists"],
    28: ["EINVAL", "invalid argument"],
    31: ["EISDIR", "illegal operation on a directory"],
    44: ["ENOENT", "no such file or directory"],
    54: ["ENOTDIR", "not a directory"],
    63: ["EPERM", "operation not permitted"],
    69: ["EROFS", "read-only file system"],
    76: ["ENOTCAPABLE", "not permitted by the sandbox"],
  };
  const fsError = (errno, syscall, path) => {
    const [code, message] = ERRNO[errno] || ["EIO", std.strerror(errno).toLowerCase()];
    const e = new Error(`${code}: ${message}, ${syscall} '${path}'`);
    e.errno = -errno;
    e.code = code;
    e.syscall = syscall;
    e.path = path;
    return e;
  };

  const encodingOf = (options) =>
    typeof options === "string" ? options : options && options.encoding ? options.encoding : null;

  const readAll = (file) => new Uint8Array(file.readAsArrayBuffer());
  const isStdin = (p) => p === 0 || p === "/dev/stdin";

  const fs = {
    readFileSync(path, options) {
      const encoding = encodingOf(options);
      let bytes;
      if (isStdin(path)) {
        if (encoding && /^utf-?8$/i.test(encoding)) return std.in.readAsString();
        bytes = readAll(std.in);
      } else {
        const err = {};
        const f = std.open(String(path), "rb", err);
        if (!f) throw fsError(err.errno, "open", path);
        try {
          if (encoding && /^utf-?8$/i.test(encoding)) return f.readAsString();
          bytes = readAll(f);
        } finally {
          f.close();
        }
      }
      return encoding ? fileBytes(bytes).toString(encoding) : fileBytes(bytes);
    },
    writeFileSync(path, data, options) {
      writeTo(path, data, options, "wb");
    },
    appendFileSync(path, data, options) {
      writeTo(path, data, options, "ab");
    },
    existsSync(path) {
      const [, errno] = os.stat(String(path));
      return errno === 0;
    },
  };

  const writeStream = (file) => (chunk, encoding, callback) => {
    if (typeof chunk === "string") {
      file.puts(chunk);
    } else {
      const bytes = toBytes(chunk);
      file.write(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    if (file === std.err) file.flush();
    const cb = typeof encoding === "function" ? encoding : callback;
    if (typeof cb === "function") os.setTimeout(cb, 0);
    return true;
  };

  const writeTo = (path, data, options, mode) => {
    if (path === 1 || path === "/dev/stdout") return writeStream(std.out)(data);
    if (path === 2 || path === "/dev/stderr") return writeStream(std.err)(data);
    const flag = options && typeof options === "object" && options.flag;
    const err = {};
    const f = std.open(String(path), flag ? `${flag.replace("b", "")}b` : mode, err);
    if (!f) throw fsError(err.errno, "open", path);
    try {
      const bytes = toBytes(data);
      f.write(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } finally {
      f.close();
    }
  };

  // --- console: Node-like formatting of values (util.inspect's common cases) ---
  const quote = (s) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'").replace(/\n/g, "\\n")}'`;
  const keyName = (k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k));
  const inspect = (v, depth, seen, top) => {
    switch (typeof v) {
      case "string":
        return top ? v : quote(v);
      case "number":
        return Object.is(v, -0) ? "-0" : String(v);
      case "bigint":
        return `${v}n`;
      case "undefined":
      case "boolean":
        return String(v);
      case "symbol":
        return v.toString();
      case "function":
        return v.name ? `[Function: ${v.name}]` : "[Function (anonymous)]";
    }
    if (v === null) return "null";
    if (seen.includes(v)) return "[Circular *1]";
    if (v instanceof Error) return v.stack ? `${v.name}: ${v.message}\n${v.stack.replace(/\n$/, "")}` : String(v);
    if (v instanceof Date) return v.toISOString();
    if (v instanceof RegExp) return String(v);
    const isArr = Array.isArray(v) || ArrayBuffer.isView(v);
    if (depth > 2) return isArr ? "[Array]" : "[Object]";
    const inner = (x) => inspect(x, depth + 1, seen.concat([v]), false);
    let parts;
    let open;
    let close;
    let prefix = "";
    if (v instanceof Map) {
      parts = [...v].map(([k, x]) => `${inner(k)} => ${inner(x)}`);
      [prefix, open, close] = [`Map(${v.size}) `, "{", "}"];
    } else if (v instanceof Set) {
      parts = [...v].map(inner);
      [prefix, open, close] = [`Set(${v.size}) `, "{", "}"];
    } else if (isArr) {
      parts = Array.from(v, inner);
      if (!Array.isArray(v)) prefix = `${v.constructor.name}(${v.length}) `;
      [open, close] = ["[", "]"];
    } else {
      parts = Object.keys(v).map((k) => `${keyName(k)}: ${inner(v[k])}`);
      const name = v.constructor && v.constructor.name;
      if (name && name !== "Object") prefix = `${name} `;
      [open, close] = ["{", "}"];
    }
    if (parts.length === 0) return `${prefix}${open}${close}`;
    const one = `${prefix}${open} ${parts.join(", ")} ${close}`;
    if (one.length <= 72 && !one.includes("\n")) return one;
    const pad = "  ".repeat(depth + 1);
    return `${prefix}${open}\n${pad}${parts.join(`,\n${pad}`)}\n${"  ".repeat(depth)}${close}`;
  };
  const format = (args) => {
    let rest = args;
    let head = "";
    if (typeof args[0] === "string" && args[0].includes("%") && args.length > 1) {
      let i = 1;
      head = args[0].replace(/%([sdifjoOc%])/g, (m, c) => {
        if (c === "%") return "%";
        if (i >= args.length) return m;
        const a = args[i++];
        switch (c) {
          case "s":
            return typeof a === "string" ? a : inspect(a, 1, [], false);
          case "d":
          case "i":
            return typeof a === "bigint" ? `${a}n` : String(c === "i" ? parseInt(a) : Number(a));
          case "f":
            return String(parseFloat(a));
          case "j":
            return JSON.stringify(a);
          case "c":
            return "";
          default:
            return inspect(a, 0, [], false);
        }
      });
      rest = args.slice(i);
      return [head, ...rest.map((a) => inspect(a, 0, [], true))].join(" ");
    }
    return rest.map((a) => inspect(a, 0, [], true)).join(" ");
  };
  const toOut = (...args) => writeStream(std.out)(`${format(args)}\n`);
  const toErr = (...args) => writeStream(std.err)(`${format(args)}\n`);
  globalThis.console = { log: toOut, info: toOut, debug: toOut, error: toErr, warn: toErr, trace: toErr };

  // --- process ---
  const listeners = { data: [], end: [] };
  let stdinScheduled = false;
  const scheduleStdin = () => {
    if (stdinScheduled) return;
    stdinScheduled = true;
    os.setTimeout(() => {
      const text = std.in.readAsString();
      if (text.length > 0) for (const f of listeners.data) f(text);
      for (const f of listeners.end) f();
    }, 0);
  };
  const stdin = {
    fd: 0,
    setEncoding() {
      return stdin;
    },
    resume() {
      return stdin;
    },
    on(event, f) {
      if (event === "data" || event === "end") {
        listeners[event].push(f);
        scheduleStdin();
      }
      return stdin;
    },
  };
  stdin.once = stdin.on;

  const args = typeof scriptArgs !== "undefined" ? scriptArgs : [];
  globalThis.process = {
    argv: ["node", ...args],
    env: std.getenviron(),
    platform: "wasi",
    exit(code) {
      std.out.flush();
      std.err.flush();
      std.exit(code === undefined ? 0 : Number(code) | 0);
    },
    cwd() {
      return os.getcwd()[0];
    },
    stdout: { fd: 1, write: writeStream(std.out) },
    stderr: { fd: 2, write: writeStream(std.err) },
    stdin,
  };

  const readline = {
    createInterface() {
      const on = { line: [], close: [] };
      const rl = {
        on(event, f) {
          if (on[event]) on[event].push(f);
          return rl;
        },
        close() {},
      };
      let text = "";
      stdin.on("data", (chunk) => {
        text += chunk;
      });
      stdin.on("end", () => {
        const lines = text.split("\n");
        if (lines[lines.length - 1] === "") lines.pop();
        for (const line of lines) for (const f of on.line) f(line.replace(/\r$/, ""));
        for (const f of on.close) f();
      });
      return rl;
    },
  };

  const modules = { fs, readline };
  const module = { exports: {}, id: ".", filename: args[0] };
  const require = (name) => {
    const m = modules[String(name).replace(/^node:/, "")];
    if (m) return m;
    const e = new Error(`Cannot find module '${name}' (subrun's node shim provides only fs and readline)`);
    e.code = "MODULE_NOT_FOUND";
    throw e;
  };
  require.main = module;
  globalThis.require = require;
  globalThis.module = module;
  globalThis.exports = module.exports;

  globalThis.setTimeout = (f, ms, ...a) => os.setTimeout(() => f(...a), ms || 0);
  globalThis.clearTimeout = (t) => t !== undefined && os.clearTimeout(t);
  globalThis.setInterval = (f, ms, ...a) => os.setInterval(() => f(...a), ms || 0);
  globalThis.clearInterval = (t) => t !== undefined && os.clearInterval(t);
})();
