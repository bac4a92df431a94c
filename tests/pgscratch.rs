#[path = "support/databases.rs"]
mod databases;
use forewarn::store::{PostgresStore, Store};
#[tokio::test]
async fn scratch() {
    let Some(pg) = databases::Server::start_or_skip(databases::Engine::Postgres) else { return };
    pg.admin("CREATE DATABASE s1 OWNER forewarn").unwrap();
    let url = format!("postgres://{}@127.0.0.1:{}/s1", databases::USER, pg.port);
    let store = PostgresStore::connect_with(&url, Some(databases::PASSWORD)).await.unwrap();
    let ttl = std::time::Duration::from_secs(3);
    let l = store.lead("a", None, ttl).await.unwrap(); println!("{l:?}");
    println!("now {}", chrono::Utc::now()); tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let l2 = store.lead("a", Some(l.token), ttl).await.unwrap(); println!("{l2:?}");
    let l3 = store.lead("b", None, ttl).await.unwrap(); println!("{l3:?}");
    println!("{}", pg.admin("SELECT make_interval(secs => 3.0::float8), clock_timestamp(), clock_timestamp() + make_interval(secs => 3.0::float8)").unwrap());
    println!("{}", pg.admin("\\c s1\nSELECT * FROM leader_lease").unwrap_or_default());
}
