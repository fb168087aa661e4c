//! Config layering: defaults, file, env, flags; human durations; errors name the key.

use super::*;
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    flags: ServeFlags,
}

fn resolve(args: &[&str]) -> Result<Config, ConfigError> {
    let cli = Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
        .expect("flags parse");
    Config::resolve(&cli.flags)
}

#[test]
fn file_then_env_then_flag_for_a_nested_key() {
    figment::Jail::expect_with(|jail| {
        jail.create_file(
            "f.toml",
            "max_batch = 16\n[routing]\nkey_prefix = \"file\"\nmax_attempts = 5\n",
        )?;
        let c = resolve(&["--config", "f.toml"]).unwrap();
        assert_eq!((c.routing.key_prefix.as_str(), c.max_batch), ("file", 16));

        jail.set_env("FUNNEL_ROUTING__KEY_PREFIX", "env");
        jail.set_env("FUNNEL_MAX_BATCH", "32");
        let c = resolve(&["--config", "f.toml"]).unwrap();
        assert_eq!((c.routing.key_prefix.as_str(), c.max_batch), ("env", 32));
        // Untouched keys of the same table keep the file's value.
        assert_eq!(c.routing.max_attempts, 5);

        let c = resolve(&[
            "--config",
            "f.toml",
            "--set",
            "routing.key_prefix=flag",
            "--set",
            "max_batch=48",
        ])
        .unwrap();
        assert_eq!((c.routing.key_prefix.as_str(), c.max_batch), ("flag", 48));
        Ok(())
    });
}

#[test]
fn durations_are_human_everywhere() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("f.toml", "sweep_interval = \"250ms\"\n")?;
        jail.set_env("FUNNEL_SHUTDOWN_GRACE", "1m 30s");
        let c = resolve(&["--config", "f.toml", "--set", "stats_interval=2h"]).unwrap();
        assert_eq!(c.sweep_interval, Duration::from_millis(250));
        assert_eq!(c.shutdown_grace, Duration::from_secs(90));
        assert_eq!(c.stats_interval, Duration::from_secs(7200));
        assert_eq!(c.watch_poll, Duration::from_secs(1));

        let err = resolve(&["--set", "redis_timeout=soon"]).unwrap_err();
        assert!(err.to_string().contains("--set redis_timeout"), "{err}");
        jail.set_env("FUNNEL_WATCH_POLL", "often");
        let err = resolve(&[]).unwrap_err();
        assert!(err.to_string().contains("FUNNEL_WATCH_POLL"), "{err}");
        Ok(())
    });
}

#[test]
fn unknown_keys_and_bad_values_are_named() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("f.toml", "[routing]\nmax_attempts = \"many\"\n")?;
        let err = resolve(&["--config", "f.toml"]).unwrap_err().to_string();
        assert!(
            err.contains("\"routing.max_attempts\" in f.toml TOML file"),
            "{err}"
        );

        jail.create_file("f.toml", "[routing]\nofer_sla = \"1m\"\n")?;
        let err = resolve(&["--config", "f.toml"]).unwrap_err().to_string();
        assert!(
            err.contains("routing.ofer_sla") && err.contains("f.toml"),
            "{err}"
        );

        let err = resolve(&["--set", "max_bach=3"]).unwrap_err().to_string();
        assert!(err.contains("--set max_bach"), "{err}");

        jail.set_env("FUNNEL_SCORING_THREDS", "3");
        let err = resolve(&[]).unwrap_err().to_string();
        assert!(err.contains("FUNNEL_SCORING_THREDS"), "{err}");
        Ok(())
    });
}

#[test]
fn common_flags_and_validation_name_the_field() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("FUNNEL_REDIS_URLS", "redis://a:1");
        let c = resolve(&["--log-format", "json", "--log", "debug"]).unwrap();
        assert_eq!(c.redis_urls, ["redis://a:1"]);
        assert_eq!(
            (c.log_format.as_str(), c.log_filter.as_str()),
            ("json", "debug")
        );
        jail.set_env("FUNNEL_REDIS_URLS", "[redis://:p@a:1, \"redis://b:1\"]");
        let c = resolve(&[]).unwrap();
        assert_eq!(c.redis_urls, ["redis://:p@a:1", "redis://b:1"]);
        let c = resolve(&["--redis-urls", "redis://b:1,redis://c:1"]).unwrap();
        assert_eq!(c.redis_urls, ["redis://b:1", "redis://c:1"]);

        let c = resolve(&[
            "--set",
            "ort_library=/opt/ort.so",
            "--set",
            "redis_cluster=true",
        ]);
        let c = c.unwrap();
        assert_eq!(c.ort_library, Some("/opt/ort.so".into()));
        assert!(c.redis_cluster);
        let set = "campaign_thresholds.cmp-x={ high = 0.6, medium = 0.2 }";
        let c = resolve(&["--set", set]).unwrap();
        assert_eq!(c.campaign_thresholds["cmp-x"].high, 0.6);

        let err = resolve(&["--set", "log_format=xml"]).unwrap_err();
        assert!(err.to_string().contains("log_format"), "{err}");
        let err = resolve(&["--set", "sweep_interval=0s"]).unwrap_err();
        assert!(err.to_string().contains("sweep_interval"), "{err}");
        Ok(())
    });
}

#[test]
fn passwords_are_redacted() {
    for (url, shown) in [
        ("redis://:p@ss@db:6379", "redis://:***@db:6379"),
        ("redis://app:s3cret@db:6379/0", "redis://app:***@db:6379/0"),
        ("redis://db:6379", "redis://db:6379"),
        (
            "redis+unix:///run/redis.sock?db=1&pass=s3cret",
            "redis+unix:///run/redis.sock?db=1&pass=***",
        ),
    ] {
        assert_eq!(redact_url(url), shown);
    }
    assert_eq!(redact_url("not a url :p@ss@"), "<unparsable URL>");
    let c = Config {
        redis_urls: vec!["redis://:p@ss@db:6379".into()],
        ..Config::default()
    };
    let logged = format!("{:?}", c.redacted());
    assert!(
        !logged.contains("ss@") && !logged.contains(":p"),
        "{logged}"
    );
}

#[test]
fn the_workbench_listener_is_set_by_file_env_and_flag() {
    figment::Jail::expect_with(|jail| {
        let c = resolve(&[]).unwrap();
        assert!(c.web.enabled);
        assert_eq!(c.web.listen, "0.0.0.0:8080".parse().unwrap());
        jail.create_file(
            "f.toml",
            "[web]\nlisten = \"127.0.0.1:8081\"\nkeepalive = \"5s\"\n",
        )?;
        let c = resolve(&["--config", "f.toml"]).unwrap();
        assert_eq!(c.web.listen, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(c.web.keepalive, Duration::from_secs(5));
        jail.set_env("FUNNEL_WEB__LISTEN", "127.0.0.1:8082");
        let c = resolve(&["--config", "f.toml"]).unwrap();
        assert_eq!(c.web.listen, "127.0.0.1:8082".parse().unwrap());
        let c = resolve(&["--config", "f.toml", "--set", "web.enabled=false"]).unwrap();
        assert!(!c.web.enabled);
        let err = resolve(&["--set", "web.port=1"]).unwrap_err();
        assert!(err.to_string().contains("web.port"), "{err}");
        Ok(())
    });
}
