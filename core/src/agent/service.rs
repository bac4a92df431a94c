//! Running the agent as a service: the unit or job description each platform expects.
//! Platform-specific text lives here only; `forewarn agent service` prints the one for the
//! machine it runs on.

use std::path::Path;

/// The systemd unit (Linux) running `exe agent --config config`.
pub fn systemd_unit(exe: &Path, config: &Path) -> String {
    format!(
        "[Unit]\n\
         Description=forewarn agent: reports this machine's health to the central forewarn\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         ExecStart={} agent --config {}\n\
         Restart=always\n\
         RestartSec=10\n\
         DynamicUser=yes\n\
         StateDirectory=forewarn-agent\n\
         WorkingDirectory=/var/lib/forewarn-agent\n\
         ProtectSystem=strict\n\
         ProtectHome=read-only\n\
         NoNewPrivileges=yes\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        exe.display(),
        config.display()
    )
}

/// The launchd job (macOS), for `/Library/LaunchDaemons/org.forewarn.agent.plist`.
pub fn launchd_plist(exe: &Path, config: &Path) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>org.forewarn.agent</string>
  <key>ProgramArguments</key>
  <array>
    <string>{}</string><string>agent</string><string>--config</string><string>{}</string>
  </array>
  <key>RunAtLoad</key><true/>
  <key>KeepAlive</key><true/>
  <key>WorkingDirectory</key><string>/Library/Application Support/forewarn</string>
</dict>
</plist>
"#,
        xml(&exe.display().to_string()),
        xml(&config.display().to_string())
    )
}

/// The commands (Windows) that register the agent as a service with `sc.exe`.
pub fn windows_sc(exe: &Path, config: &Path) -> String {
    format!(
        "sc.exe create forewarn-agent binPath= \"\\\"{}\\\" agent --config \\\"{}\\\"\" start= delayed-auto\n\
         sc.exe failure forewarn-agent reset= 86400 actions= restart/10000\n\
         sc.exe start forewarn-agent\n",
        exe.display(),
        config.display()
    )
}

/// The description for the platform this runs on.
pub fn for_this_platform(exe: &Path, config: &Path) -> String {
    if cfg!(target_os = "macos") {
        launchd_plist(exe, config)
    } else if cfg!(windows) {
        windows_sc(exe, config)
    } else {
        systemd_unit(exe, config)
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_name_the_program_and_config() {
        let (exe, cfg) = (
            Path::new("/usr/bin/forewarn"),
            Path::new("/etc/forewarn/agent.toml"),
        );
        assert!(
            systemd_unit(exe, cfg)
                .contains("ExecStart=/usr/bin/forewarn agent --config /etc/forewarn/agent.toml")
        );
        assert!(launchd_plist(exe, cfg).contains("<string>/etc/forewarn/agent.toml</string>"));
        assert!(windows_sc(exe, cfg).contains("sc.exe create forewarn-agent"));
    }
}
