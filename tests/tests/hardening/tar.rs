//! Hand-made tar archives for the escape suite: members a well-behaved writer (the `tar`
//! crate's `set_path`) refuses to produce, such as `../` names, absolute names, links that
//! lead outside, and GNU long names or PAX headers that carry such a name.

/// One member of a crafted archive.
pub(crate) enum Member<'a> {
    /// A regular file.
    File(&'a str, &'a [u8]),
    /// A directory.
    Dir(&'a str),
    /// A symlink `name -> target`.
    Symlink(&'a str, &'a str),
    /// A hard link `name => target`.
    HardLink(&'a str, &'a str),
    /// A GNU long-name record (`././@LongLink`, type `L`) naming the file that follows it.
    GnuLongName(&'a str, &'a [u8]),
    /// A PAX extended header (type `x`) whose `path` record names the file that follows it.
    PaxPath(&'a str, &'a [u8]),
}

/// A plain (uncompressed) ustar archive of `members`, ended by two zero blocks.
pub(crate) fn archive(members: &[Member<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in members {
        match m {
            Member::File(name, data) => entry(&mut out, name, b'0', "", data),
            Member::Dir(name) => entry(&mut out, name, b'5', "", b""),
            Member::Symlink(name, target) => entry(&mut out, name, b'2', target, b""),
            Member::HardLink(name, target) => entry(&mut out, name, b'1', target, b""),
            Member::GnuLongName(name, data) => {
                let mut long = name.as_bytes().to_vec();
                long.push(0);
                entry(&mut out, "././@LongLink", b'L', "", &long);
                entry(&mut out, "placeholder-long-name", b'0', "", data);
            }
            Member::PaxPath(name, data) => {
                let record = pax_record("path", name);
                entry(
                    &mut out,
                    "PaxHeaders/placeholder",
                    b'x',
                    "",
                    record.as_bytes(),
                );
                entry(&mut out, "placeholder-pax-name", b'0', "", data);
            }
        }
    }
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// `"<len> key=value\n"`, where `<len>` counts the whole record including itself.
fn pax_record(key: &str, value: &str) -> String {
    let body = format!(" {key}={value}\n");
    let mut len = body.len() + 1;
    while format!("{len}").len() + body.len() != len {
        len += 1;
    }
    format!("{len}{body}")
}

fn entry(out: &mut Vec<u8>, name: &str, kind: u8, link: &str, data: &[u8]) {
    let mut h = [0u8; 512];
    put(&mut h[0..100], name.as_bytes());
    let mode: &[u8] = if kind == b'5' {
        b"0000755\0"
    } else {
        b"0000644\0"
    };
    put(&mut h[100..108], mode);
    put(&mut h[108..116], b"0000000\0");
    put(&mut h[116..124], b"0000000\0");
    put(
        &mut h[124..136],
        format!("{:011o}\0", data.len()).as_bytes(),
    );
    put(&mut h[136..148], b"00000000000\0");
    h[156] = kind;
    put(&mut h[157..257], link.as_bytes());
    put(&mut h[257..265], b"ustar\x0000");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    put(&mut h[148..156], format!("{sum:06o}\0 ").as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    let pad = (512 - data.len() % 512) % 512;
    out.extend(std::iter::repeat_n(0u8, pad));
}

fn put(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field[..n].copy_from_slice(&value[..n]);
}
