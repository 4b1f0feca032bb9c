//! Network interfaces: just enough to bring loopback up in a new network
//! namespace (where it starts down).

use rustix::io::Errno;
use rustix::ioctl::{Opcode, Updater};
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use linux_raw_sys::net::ifreq;

/// IFF_UP from <linux/if.h> (an enum member in linux-raw-sys).
const IFF_UP: i16 = 1;

const SIOCGIFFLAGS: Opcode = linux_raw_sys::ioctl::SIOCGIFFLAGS as Opcode;
const SIOCSIFFLAGS: Opcode = linux_raw_sys::ioctl::SIOCSIFFLAGS as Opcode;

/// `ip link set NAME up`: SIOCGIFFLAGS, add IFF_UP, SIOCSIFFLAGS.
pub fn interface_up(name: &[u8]) -> Result<(), Errno> {
    let sock = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain old data (arrays and integer unions); all-zero
    // is a valid value.
    let mut req: ifreq = unsafe { core::mem::zeroed() };
    // SAFETY: ifrn_name is the only member of the ifr_ifrn union; writing
    // bytes into it is always valid.
    let ifname = unsafe { &mut req.ifr_ifrn.ifrn_name };
    if name.len() >= ifname.len() {
        return Err(Errno::NAMETOOLONG);
    }
    for (dst, &src) in ifname.iter_mut().zip(name) {
        *dst = src as _;
    }
    // SAFETY: SIOCGIFFLAGS reads the name from an ifreq and writes the
    // interface flags back into the same struct.
    unsafe { rustix::ioctl::ioctl(&sock, Updater::<SIOCGIFFLAGS, ifreq>::new(&mut req))? };
    // SAFETY: ifru_flags is the member SIOCGIFFLAGS just filled in.
    unsafe { req.ifr_ifru.ifru_flags |= IFF_UP };
    // SAFETY: SIOCSIFFLAGS reads the name and flags from a valid ifreq.
    unsafe { rustix::ioctl::ioctl(&sock, Updater::<SIOCSIFFLAGS, ifreq>::new(&mut req)) }
}
